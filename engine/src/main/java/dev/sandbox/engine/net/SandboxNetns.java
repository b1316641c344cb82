package dev.sandbox.engine.net;

import dev.sandbox.engine.NetworkSpec;
import dev.sandbox.engine.SandboxNetwork;
import dev.sandbox.ffi.NativeException;
import dev.sandbox.ffi.net.NetNamespace;
import dev.sandbox.ffi.net.Tap;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * One sandbox's network: its namespace ({@code <prefix>-<slot>}) with the veth pair to the host
 * ({@code <prefix><slot>h} on the host, {@code veth0} inside, a /30 of the pool between them), a default route to
 * the host, forwarding on, the namespace's rules ({@code inet sandbox}: NAT and the egress policy) and the host's
 * per-sandbox table ({@code inet <prefix>_<slot>}). {@link #openTap()} then adds the guest's TAP.
 *
 * <p>Order at the end: close the TAP (stop the VM) first, then this. An open TAP fd keeps the namespace alive after
 * {@code ip netns del}, nameless and unreachable, until the fd closes; nothing of ours is left on the host either
 * way, but the kernel frees the namespace only then.
 *
 * <p>Slots are the caller's: this neither takes nor gives back one (see {@link HostNetworking#slots()}).
 */
public final class SandboxNetns implements AutoCloseable {
    private final NetConfig.Slot slot;
    private final NetworkSpec spec;
    private final Commands commands;
    private boolean closed;

    private SandboxNetns(NetConfig.Slot slot, NetworkSpec spec, Commands commands) {
        this.slot = slot;
        this.spec = spec;
        this.commands = commands;
    }

    /**
     * Builds it all for {@code slot}; on a failure, removes whatever it had made and throws.
     *
     * @throws NetworkException when a step fails (a name taken by a leftover, a tool missing, no CAP_NET_ADMIN)
     */
    static SandboxNetns create(NetConfig config, NetConfig.Slot slot, NetworkSpec spec, Commands commands) {
        Deque<HostObjects.Removal> undo = new ArrayDeque<>();
        try {
            commands.run("ip", "netns", "add", slot.netns());
            undo.push(new HostObjects.Removal("namespace " + slot.netns(), () -> HostObjects.deleteNetns(commands, slot.netns())));
            namespaceSysctls(slot.netns());
            commands.run("ip", "link", "add", slot.hostVeth(), "type", "veth", "peer", "name", NftRules.NS_VETH,
                    "netns", slot.netns());
            undo.push(new HostObjects.Removal("link " + slot.hostVeth(), () -> HostObjects.deleteLink(commands, slot.hostVeth())));
            commands.run(List.of("ip", "-batch", "-"),
                    "addr add " + slot.hostSideIp() + "/30 dev " + slot.hostVeth() + "\n"
                            + "link set " + slot.hostVeth() + " up\n");
            // Only the packets this veth brings in need forwarding; the host-wide switch is HostNetworking's.
            writeSysctl(Path.of("/proc/sys/net/ipv4/conf", slot.hostVeth(), "forwarding"));
            commands.run(List.of("ip", "-n", slot.netns(), "-batch", "-"),
                    "link set lo up\n"
                            + "addr add " + slot.hostIp() + "/30 dev " + NftRules.NS_VETH + "\n"
                            + "link set " + NftRules.NS_VETH + " up\n"
                            + "route add default via " + slot.hostSideIp() + "\n");
            commands.inNetns(slot.netns(), List.of("nft", "-f", "-"), NftRules.sandbox(config, slot, spec));
            undo.push(new HostObjects.Removal("table inet " + slot.hostTable(),
                    () -> HostObjects.deleteTable(commands, "inet", slot.hostTable())));
            commands.nft(NftRules.host(slot, spec));
            return new SandboxNetns(slot, spec, commands);
        } catch (RuntimeException | Error e) {
            RuntimeException failure = HostObjects.removeAll(undo, "after a failed create");
            if (failure != null) {
                e.addSuppressed(failure);
            }
            throw e;
        }
    }

    /**
     * The namespace's own switches, set before any link exists: forwarding on (it routes between guest and host),
     * IPv6 off (the guest has only IPv4, and a link without IPv6 neither sends nor accepts any).
     */
    private static void namespaceSysctls(String netns) {
        try {
            NetNamespace.run(netns, SandboxNetns::namespaceSysctlsHere);
        } catch (NativeException e) {
            throw new NetworkException("cannot enter namespace " + netns + ": " + e.getMessage(), e);
        }
    }

    /** Runs on a thread inside the namespace, where /proc/sys/net is the namespace's. */
    private static void namespaceSysctlsHere() {
        writeSysctl(Path.of("/proc/sys/net/ipv4/ip_forward"));
        for (String conf : List.of("all", "default")) {
            Path v6 = Path.of("/proc/sys/net/ipv6/conf", conf, "disable_ipv6");
            if (Files.exists(v6)) { // a host booted with ipv6.disable=1 has none
                writeSysctl(v6);
            }
        }
    }

    private static void writeSysctl(Path path) {
        try {
            Files.writeString(path, "1");
        } catch (IOException e) {
            throw new NetworkException("cannot set " + path + ": " + e, e);
        }
    }

    /**
     * Opens the guest's TAP ({@link GuestNetLayout#TAP_NAME}) in the namespace, with the gateway's address and its
     * fixed MAC (clones and resumed guests have it cached), up. The caller owns it and closes it before
     * {@link #close()}; after a close of the TAP (a pause) this may be called again.
     */
    public Tap openTap() {
        return attachGuest(GuestLink.TAP);
    }

    /** Makes the guest's link with {@code link}, then configures it as the guest's gateway. */
    <T extends AutoCloseable> T attachGuest(GuestLink<T> link) {
        checkOpen();
        T handle = link.create(slot.netns(), commands);
        try {
            String dev = GuestNetLayout.TAP_NAME;
            commands.run(List.of("ip", "-n", slot.netns(), "-batch", "-"),
                    "link set " + dev + " address " + GuestNetLayout.GATEWAY_MAC + "\n"
                            + "addr add " + GuestNetLayout.GATEWAY_IP + "/" + GuestNetLayout.PREFIX + " dev " + dev
                            + "\n"
                            + "link set " + dev + " up\n");
            return handle;
        } catch (RuntimeException | Error e) {
            try {
                handle.close();
            } catch (Exception failure) {
                e.addSuppressed(failure);
            }
            throw e;
        }
    }

    public int slot() {
        return slot.index();
    }

    /** The namespace's name ({@code /run/netns/<name>}). */
    public String netnsName() {
        return slot.netns();
    }

    /** The sandbox's address as the host sees it: a guest port P is reachable at {@code hostIp:P}. */
    public String hostIp() {
        return slot.hostIp();
    }

    /** The host's end of the veth pair (the namespace's default gateway). */
    public String hostSideIp() {
        return slot.hostSideIp();
    }

    /** The name of the host's end of the veth pair. */
    public String hostVeth() {
        return slot.hostVeth();
    }

    public NetworkSpec spec() {
        return spec;
    }

    /** What the engine's API reports. */
    public SandboxNetwork network() {
        return new SandboxNetwork(GuestNetLayout.GUEST_IP, slot.hostIp(), spec);
    }

    /**
     * Removes the host's veth (which cuts the sandbox off at once), the namespace, then the host's table. Every step
     * is tried; each failure is logged and the first is thrown (the slot should then not be reused before
     * {@link HostNetworking#cleanupLeftovers()}). A second call does nothing.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<HostObjects.Removal> steps = List.of(
                new HostObjects.Removal("link " + slot.hostVeth(),
                        () -> HostObjects.deleteLink(commands, slot.hostVeth())),
                new HostObjects.Removal("namespace " + slot.netns(),
                        () -> HostObjects.deleteNetns(commands, slot.netns())),
                new HostObjects.Removal("table inet " + slot.hostTable(),
                        () -> HostObjects.deleteTable(commands, "inet", slot.hostTable())));
        RuntimeException failure = HostObjects.removeAll(steps, "of sandbox network " + slot.index());
        if (failure != null) {
            throw failure;
        }
    }

    private synchronized void checkOpen() {
        if (closed) {
            throw new IllegalStateException("sandbox network " + slot.index() + " is closed");
        }
    }

    @Override
    public String toString() {
        return "SandboxNetns[" + slot.netns() + ", " + slot.hostIp() + "]";
    }

}
