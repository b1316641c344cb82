package dev.sandbox.engine.net;

import dev.sandbox.engine.NetworkSpec;
import dev.sandbox.ffi.net.NetNamespace;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * The engine-wide side of sandbox networking: the host's forwarding switch, the global nftables table (masquerade
 * of the pool, no way into the pool from outside), the pool's slots, and the removal of what an earlier process
 * left behind. One per engine.
 *
 * <p>At engine start, when no VM of ours can be alive: {@link #cleanupLeftovers()}, then {@link #setup()}, then
 * {@link SlotAllocator#reserve} for each sandbox that keeps its address (recovered paused). Per sandbox:
 * {@code slots().allocate()} (or the reserved slot), {@link #create}, ..., {@link SandboxNetns#close()}, then
 * {@code slots().release(slot)} unless the close failed.
 */
public final class HostNetworking {
    private static final System.Logger LOG = System.getLogger(HostNetworking.class.getName());
    private static final Path IP_FORWARD = Path.of("/proc/sys/net/ipv4/ip_forward");

    private final NetConfig config;
    private final Commands commands;
    private final SlotAllocator slots;

    public HostNetworking(NetConfig config) {
        this(config, Commands.processes(config.commandTimeout()));
    }

    HostNetworking(NetConfig config, Commands commands) {
        this.config = config;
        this.commands = commands;
        this.slots = new SlotAllocator(config.slots());
    }

    public NetConfig config() {
        return config;
    }

    /** The pool's slots; the caller takes one before {@link #create} and gives it back after the close. */
    public SlotAllocator slots() {
        return slots;
    }

    /**
     * Checks that {@code ip} and {@code nft} run, turns on IPv4 forwarding (if the config says so) and loads the
     * global table, replacing an earlier one.
     *
     * @throws NetworkException when a tool is missing or the host refuses (no CAP_NET_ADMIN)
     */
    public void setup() {
        commands.run("ip", "-V");
        commands.run("nft", "--version");
        if (config.enableIpForward()) {
            try {
                if (!Files.readString(IP_FORWARD).strip().equals("1")) {
                    Files.writeString(IP_FORWARD, "1");
                    LOG.log(Level.INFO, "turned on net.ipv4.ip_forward for sandbox networking");
                }
            } catch (IOException e) {
                throw new NetworkException("cannot turn on " + IP_FORWARD + ": " + e, e);
            }
        }
        commands.nft(NftRules.global(config));
    }

    /** Removes the global table (the host's forwarding switch stays as it is). No sandbox network may be left. */
    public void teardown() {
        HostObjects.deleteTable(commands, "inet", config.globalTable());
    }

    /**
     * Builds the network of a slot taken from {@link #slots()}.
     *
     * @throws IllegalStateException when the slot was not taken
     * @throws NetworkException      when a step fails; nothing it made is left
     */
    public SandboxNetns create(int slot, NetworkSpec spec) {
        if (!slots.isUsed(slot)) {
            throw new IllegalStateException("network slot " + slot + " was not allocated or reserved");
        }
        return SandboxNetns.create(config, config.slot(slot), spec, commands);
    }

    /**
     * Removes every namespace, host link and per-sandbox table of ours ({@code <prefix>-<n>}, {@code <prefix><n>h},
     * {@code inet <prefix>_<n>}): what a process that died left behind. Only while no sandbox network of this
     * engine exists. Every removal is tried, each failure logged; the first is thrown.
     *
     * @return how many were removed
     */
    public int cleanupLeftovers() {
        List<HostObjects.Removal> removals = new ArrayList<>();
        for (String link : names(Path.of("/sys/class/net"), config::isOurHostLink)) {
            removals.add(new HostObjects.Removal("link " + link, () -> HostObjects.deleteLink(commands, link)));
        }
        for (String netns : names(Path.of(NetNamespace.RUN_DIR), config::isOurNetns)) {
            removals.add(new HostObjects.Removal("namespace " + netns,
                    () -> HostObjects.deleteNetns(commands, netns)));
        }
        for (String line : commands.run("nft", "list", "tables").split("\n")) {
            String[] words = line.strip().split("\\s+");
            if (words.length == 3 && words[0].equals("table") && words[1].equals("inet")
                    && config.isOurSandboxTable(words[2])) {
                removals.add(new HostObjects.Removal("table inet " + words[2],
                        () -> HostObjects.deleteTable(commands, "inet", words[2])));
            }
        }
        RuntimeException failure = HostObjects.removeAll(removals, "left over by an earlier engine");
        if (failure != null) {
            throw failure;
        }
        if (!removals.isEmpty()) {
            LOG.log(Level.INFO, "removed {0} leftover sandbox network objects: {1}", removals.size(),
                    removals.stream().map(HostObjects.Removal::what).toList());
        }
        return removals.size();
    }

    private static List<String> names(Path dir, Predicate<String> ours) {
        if (!Files.isDirectory(dir)) {
            return List.of(); // no /run/netns before the first `ip netns add`
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.map(p -> p.getFileName().toString()).filter(ours).sorted().toList();
        } catch (IOException e) {
            throw new NetworkException("cannot list " + dir + ": " + e, e);
        }
    }
}
