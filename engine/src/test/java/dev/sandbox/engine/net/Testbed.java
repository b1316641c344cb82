package dev.sandbox.engine.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sandbox.engine.Cidr;
import dev.sandbox.ffi.net.NetNamespace;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The host side of a networking test on this machine: a {@link HostNetworking} with a prefix and pool of this run's
 * own (so parallel runs and a real engine never meet), and a stand-in internet: a namespace behind a veth pair from
 * the host with an address in 198.51.100.0/24 (documentation) and one in 172.31.0.0/16 (private, blocked by
 * default). The host's own forwarding switch is left alone: only the links made here forward.
 */
final class Testbed implements AutoCloseable {
    /**
     * How long a connection that should work may take: a SYN lost while a fresh link settles is sent again after a
     * second. A connection that should fail is given {@link #BLOCKED_TIMEOUT}: drops show as a timeout.
     */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    static final Duration BLOCKED_TIMEOUT = Duration.ofMillis(1500);

    final String suffix;
    final NetConfig config;
    final Commands commands;
    final HostNetworking host;
    final String inetNs;
    final String inetLink;
    final String publicHost;
    final String publicServer;
    final String privateHost;
    final String privateServer;

    /** Whether this machine can run these tests: root with {@code ip} and {@code nft}. */
    static boolean available() {
        if (!ProcessHandle.current().info().user().map("root"::equals).orElse(false)) {
            return false;
        }
        try {
            Commands.processes(Duration.ofSeconds(10)).run("nft", "list", "tables");
            Commands.processes(Duration.ofSeconds(10)).run("ip", "netns", "list");
            return true;
        } catch (NetworkException e) {
            return false;
        }
    }

    Testbed() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        // Three base-36 digits: no run's prefix is the start of another's (the global rules match "<prefix>*").
        suffix = Integer.toString(36 * 36 + random.nextInt(36 * 36 * 35), 36);
        config = NetConfig.of("st" + suffix, Cidr.parse("10.201." + random.nextInt(256) + ".0/24"))
                .withIpForward(false);
        commands = Commands.processes(config.commandTimeout());
        host = new HostNetworking(config, commands);
        inetNs = "sti-" + suffix;
        inetLink = "xi" + suffix;
        int quad = 4 * random.nextInt(64);
        publicHost = "198.51.100." + (quad + 1);
        publicServer = "198.51.100." + (quad + 2);
        int third = random.nextInt(256);
        privateHost = "172.31." + third + "." + (quad + 1);
        privateServer = "172.31." + third + "." + (quad + 2);
        try {
            host.setup();
            commands.run("ip", "netns", "add", inetNs);
            commands.run("ip", "link", "add", inetLink, "type", "veth", "peer", "name", "eth0", "netns", inetNs);
            commands.run(List.of("ip", "-batch", "-"), "addr add " + publicHost + "/30 dev " + inetLink + "\n"
                    + "addr add " + privateHost + "/30 dev " + inetLink + "\n"
                    + "link set " + inetLink + " up\n");
            Files.writeString(Path.of("/proc/sys/net/ipv4/conf", inetLink, "forwarding"), "1");
            commands.run(List.of("ip", "-n", inetNs, "-batch", "-"), "link set lo up\n"
                    + "addr add " + publicServer + "/30 dev eth0\n"
                    + "addr add " + privateServer + "/30 dev eth0\n"
                    + "link set eth0 up\n");
        } catch (IOException | RuntimeException e) {
            close();
            throw new IllegalStateException("testbed setup failed: " + e.getMessage(), e);
        }
    }

    /** Everything of this run, whatever a test left. */
    @Override
    public void close() {
        HostObjects.deleteLink(commands, inetLink);
        HostObjects.deleteNetns(commands, inetNs);
        host.cleanupLeftovers();
        host.teardown();
    }

    /** Names of ours still on the host: namespaces, links and tables with this run's prefix. */
    List<String> leftovers() throws IOException {
        List<String> found = new java.util.ArrayList<>();
        for (Path dir : List.of(Path.of(NetNamespace.RUN_DIR), Path.of("/sys/class/net"))) {
            if (Files.isDirectory(dir)) {
                try (var names = Files.list(dir)) {
                    names.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(config.prefix()))
                            .forEach(found::add);
                }
            }
        }
        commands.run("nft", "list", "tables").lines().map(String::strip)
                .filter(l -> l.startsWith("table inet " + config.prefix() + "_")).forEach(found::add);
        return found;
    }

    /** A namespace that plays a guest: the other end of a veth named like the TAP, configured as the VM would be. */
    GuestLink<FakeGuest> fakeGuest(String name) {
        return (sandboxNs, cmds) -> {
            cmds.run("ip", "netns", "add", name);
            FakeGuest guest = new FakeGuest(name, cmds);
            try {
                cmds.run("ip", "link", "add", "name", GuestNetLayout.TAP_NAME, "netns", sandboxNs, "type", "veth",
                        "peer", "name", GuestNetLayout.GUEST_IFACE, "netns", name);
                cmds.run(List.of("ip", "-n", name, "-batch", "-"), "link set lo up\n"
                        + "link set eth0 address " + GuestNetLayout.GUEST_MAC + "\n"
                        + "addr add " + GuestNetLayout.GUEST_IP + "/" + GuestNetLayout.PREFIX + " dev eth0\n"
                        + "link set eth0 up\n"
                        + "route add default via " + GuestNetLayout.GATEWAY_IP + "\n");
                return guest;
            } catch (RuntimeException e) {
                guest.close();
                throw e;
            }
        };
    }

    record FakeGuest(String netns, Commands commands) implements AutoCloseable {
        @Override
        public void close() {
            // The link first: a namespace's links go with it only once the kernel gets round to freeing it.
            if (Files.exists(Path.of(NetNamespace.RUN_DIR, netns))) {
                commands.run("ip", "-n", netns, "link", "del", GuestNetLayout.GUEST_IFACE);
                commands.run("ip", "netns", "del", netns);
            }
        }
    }

    /**
     * Connects from namespace {@code ns} (null: the host's) and returns the server's greeting, or empty when no
     * connection came about in {@link #CONNECT_TIMEOUT}.
     */
    static Optional<String> talk(String ns, String ip, int port) {
        return talk(ns, ip, port, CONNECT_TIMEOUT);
    }

    /** Whether a connection from {@code ns} fails (within {@link #BLOCKED_TIMEOUT}). */
    static boolean blocked(String ns, String ip, int port) {
        return talk(ns, null, ip, port, BLOCKED_TIMEOUT).isEmpty();
    }

    /** Whether a connection from {@code ns} with source address {@code from} fails. */
    static boolean blockedFrom(String ns, String from, String ip, int port) {
        return talk(ns, from, ip, port, BLOCKED_TIMEOUT).isEmpty();
    }

    private static Optional<String> talk(String ns, String ip, int port, Duration timeout) {
        return talk(ns, null, ip, port, timeout);
    }

    private static Optional<String> talk(String ns, String from, String ip, int port, Duration timeout) {
        NetNamespace.Action<Optional<String>, RuntimeException> connect = () -> {
            try (Socket s = new Socket()) {
                if (from != null) {
                    s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
                }
                s.connect(new InetSocketAddress(InetAddress.getByName(ip), port), (int) timeout.toMillis());
                s.setSoTimeout(5000);
                return Optional.ofNullable(new BufferedReader(new InputStreamReader(s.getInputStream(),
                        StandardCharsets.UTF_8)).readLine());
            } catch (IOException e) {
                return Optional.empty();
            }
        };
        return ns == null ? connect.run() : NetNamespace.call(ns, connect);
    }

    /** A TCP server in namespace {@code ns} (null: the host's) that greets each client with its name and the peer. */
    static final class Server implements AutoCloseable {
        private final ServerSocket socket;
        private final String name;

        Server(String ns, String name) {
            this.name = name;
            NetNamespace.Action<ServerSocket, IOException> listen = () -> {
                ServerSocket s = new ServerSocket();
                s.bind(new InetSocketAddress("0.0.0.0", 0));
                return s;
            };
            try {
                socket = ns == null ? listen.run() : NetNamespace.call(ns, listen);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            Thread.ofVirtual().name("server-" + name).start(this::serve);
        }

        int port() {
            return socket.getLocalPort();
        }

        private void serve() {
            while (!socket.isClosed()) {
                try (Socket client = socket.accept();
                        Writer out = new OutputStreamWriter(client.getOutputStream(), StandardCharsets.UTF_8)) {
                    out.write(name + " " + client.getInetAddress().getHostAddress() + "\n");
                } catch (IOException e) {
                    // closed, or a client that left
                }
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    static String sh(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "timed out: " + List.of(command));
        assertEquals(0, p.exitValue(), List.of(command) + " failed: " + out);
        return out;
    }
}
