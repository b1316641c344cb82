package dev.sandbox.engine.net;

import dev.sandbox.ffi.net.NetNamespace;

import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;

/** Removes what we create on the host, each call a no-op when the thing is gone already (so removal can be retried). */
final class HostObjects {
    private static final System.Logger LOG = System.getLogger(HostObjects.class.getName());

    private HostObjects() {}

    /** One removal, named for the log. */
    record Removal(String what, Runnable action) {}

    /**
     * Runs every removal, even after one failed (what is left of a sandbox's network must not block the rest), each
     * failure logged with {@code why}. Returns the first failure with the later ones suppressed in it, or null.
     */
    static RuntimeException removeAll(Iterable<Removal> removals, String why) {
        RuntimeException first = null;
        for (Removal r : removals) {
            try {
                r.action().run();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "removing {0} {1}: {2}", r.what(), why, e.getMessage());
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        return first;
    }

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
