package dev.sandbox.engine.net;

import dev.sandbox.ffi.net.NetNamespace;
import java.nio.file.Files;
import java.nio.file.Path;

/** Removes what we create on the host, each call a no-op when the thing is gone already (so removal can be retried). */
final class HostObjects {
    private HostObjects() {}

    /** A link of the host's namespace (a veth takes its peer with it). */
    static void deleteLink(Commands commands, String name) {
        // /sys is mounted in the host's namespace, so it lists the host's links.
        if (Files.exists(Path.of("/sys/class/net", name))) {
            commands.run("ip", "link", "del", name);
        }
    }

    static void deleteNetns(Commands commands, String name) {
        if (Files.exists(Path.of(NetNamespace.RUN_DIR, name))) {
            commands.run("ip", "netns", "del", name);
        }
    }

    /** A table of the host's ruleset: adding it first makes the delete succeed whether it existed or not. */
    static void deleteTable(Commands commands, String family, String name) {
        commands.nft("add table " + family + " " + name + "\ndelete table " + family + " " + name + "\n");
    }
}
