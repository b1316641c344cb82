package dev.sandbox.engine.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sandbox.engine.Cidr;
import dev.sandbox.engine.NetworkSpec;
import dev.sandbox.engine.SandboxNetwork;
import dev.sandbox.engine.net.Testbed.FakeGuest;
import dev.sandbox.engine.net.Testbed.Server;
import dev.sandbox.ffi.net.Tap;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real namespaces, veths and nftables on this machine (root; skipped otherwise), with a namespace playing each
 * guest behind a veth named like the TAP. Every address and name is this run's own ({@link Testbed}).
 */
class SandboxNetnsTest {
    private static Testbed bed;

    private final List<Sandbox> sandboxes = new ArrayList<>();
    private final List<AutoCloseable> servers = new ArrayList<>();

    /** One sandbox's network with its fake guest. */
    private record Sandbox(SandboxNetns net, FakeGuest guest) {}

    @BeforeAll
    static void setUpHost() {
        assumeTrue(Testbed.available(), "needs root, ip and nft");
        bed = new Testbed();
    }

    @AfterAll
    static void tearDownHost() throws Exception {
        if (bed != null) {
            bed.close();
            assertEquals(List.of(), bed.leftovers());
            assertFalse(bed.commands.run("nft", "list", "tables").contains("inet " + bed.config.globalTable() + "\n"),
                    "global table removed");
        }
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable s : servers) {
            s.close();
        }
        for (Sandbox s : sandboxes.reversed()) {
            s.guest().close();
            s.net().close();
            bed.host.slots().release(s.net().slot());
        }
    }

    private Sandbox sandbox(NetworkSpec spec) {
        int slot = bed.host.slots().allocate();
        SandboxNetns net;
        try {
            net = bed.host.create(slot, spec);
        } catch (RuntimeException e) {
            bed.host.slots().release(slot);
            throw e;
        }
        FakeGuest guest;
        try {
            guest = net.attachGuest(bed.fakeGuest("gst-" + bed.suffix + "-" + slot));
        } catch (RuntimeException e) {
            net.close();
            bed.host.slots().release(slot);
            throw e;
        }
        Sandbox s = new Sandbox(net, guest);
        sandboxes.add(s);
        return s;
    }

    private Server server(String ns, String name) {
        Server s = new Server(ns, name);
        servers.add(s);
        return s;
    }

    private static List<Cidr> cidrs(String... texts) {
        return java.util.stream.Stream.of(texts).map(Cidr::parse).toList();
    }

    @Test
    void guestReachesTheInternetByDefaultMasqueradedAsTheHost() {
        Sandbox s = sandbox(NetworkSpec.DEFAULT);
        Server internet = server(bed.inetNs, "internet");
        assertEquals(Optional.of("internet " + bed.publicHost), Testbed.talk(s.guest().netns(), bed.publicServer,
                internet.port()), "reached, from the host's address on that link");
        assertEquals(new SandboxNetwork(GuestNetLayout.GUEST_IP, s.net().hostIp(), NetworkSpec.DEFAULT),
                s.net().network());
    }

    @Test
    void withoutInternetOnlyAllowOutIsReachable() {
        Sandbox s = sandbox(new NetworkSpec(false, cidrs(bed.privateServer), List.of()));
        Server internet = server(bed.inetNs, "internet");
        // Each blocked check follows a connection that worked from the same guest: its links are up.
        assertEquals(Optional.of("internet " + bed.privateHost),
                Testbed.talk(s.guest().netns(), bed.privateServer, internet.port()));
        assertTrue(Testbed.blocked(s.guest().netns(), bed.publicServer, internet.port()));
    }

    @Test
    void denyOutBlocksPartOfTheInternet() {
        Sandbox denied = sandbox(new NetworkSpec(true, cidrs(bed.privateServer), cidrs("198.51.100.0/24")));
        Sandbox open = sandbox(NetworkSpec.DEFAULT);
        Server internet = server(bed.inetNs, "internet");
        assertTrue(Testbed.talk(denied.guest().netns(), bed.privateServer, internet.port()).isPresent());
        assertTrue(Testbed.blocked(denied.guest().netns(), bed.publicServer, internet.port()));
        assertTrue(Testbed.talk(open.guest().netns(), bed.publicServer, internet.port()).isPresent(),
                "the same server is up for a sandbox without the deny");
    }

    @Test
    void privateRangesAreBlockedUntilAllowOutOpensThemEvenOverDenyOut() {
        Sandbox closed = sandbox(NetworkSpec.DEFAULT);
        // Overlapping networks in one list load too (the rules keep the widest).
        Sandbox opened = sandbox(new NetworkSpec(true, cidrs("172.31.0.0/16", bed.privateServer, "10.0.0.0/8"),
                cidrs("172.16.0.0/12")));
        Server internet = server(bed.inetNs, "internet");
        assertTrue(Testbed.talk(closed.guest().netns(), bed.publicServer, internet.port()).isPresent());
        assertTrue(Testbed.blocked(closed.guest().netns(), bed.privateServer, internet.port()));
        assertEquals(Optional.of("internet " + bed.privateHost),
                Testbed.talk(opened.guest().netns(), bed.privateServer, internet.port()));
    }

    @Test
    void sandboxesCannotReachEachOther() {
        Sandbox a = sandbox(NetworkSpec.DEFAULT);
        Sandbox b = sandbox(NetworkSpec.DEFAULT);
        Server inB = server(b.guest().netns(), "b");
        assertEquals(Optional.of("b " + b.net().hostSideIp()), Testbed.talk(null, b.net().hostIp(), inB.port()),
                "b's port is open to the host");
        Server internet = server(bed.inetNs, "internet");
        assertTrue(Testbed.talk(a.guest().netns(), bed.publicServer, internet.port()).isPresent(), "a is up");
        assertTrue(Testbed.blocked(a.guest().netns(), b.net().hostIp(), inB.port()));
        assertTrue(Testbed.blocked(a.guest().netns(), b.net().hostSideIp(), inB.port()));
    }

    @Test
    void noHostAddressIsReachableFromAGuest() throws Exception {
        Sandbox s = sandbox(NetworkSpec.DEFAULT);
        Server onHost = server(null, "host");
        List<String> hostAddresses = new ArrayList<>(List.of(s.net().hostSideIp(), bed.publicHost, bed.privateHost,
                s.net().hostIp(), GuestNetLayout.GATEWAY_IP));
        hostAddresses.addAll(hostAddresses());
        Server internet = server(bed.inetNs, "internet");
        assertTrue(Testbed.talk(s.guest().netns(), bed.publicServer, internet.port()).isPresent(), "guest is up");
        for (String address : hostAddresses) {
            if (!address.equals(s.net().hostIp()) && !address.equals(GuestNetLayout.GATEWAY_IP)
                    && Testbed.talk(null, address, onHost.port()).isEmpty()) {
                // another process's link (a test run beside this one) may have gone since the list was read
                assertTrue(!hostAddresses().contains(address), "the host listens on " + address);
                continue;
            }
            assertTrue(Testbed.blocked(s.guest().netns(), address, onHost.port()),
                    "guest reached " + address);
        }
    }

    /** The host's global IPv4 addresses now. */
    private static List<String> hostAddresses() throws Exception {
        List<String> addresses = new ArrayList<>();
        for (String line : Testbed.sh("ip", "-4", "-o", "addr", "show", "scope", "global").split("\n")) {
            String[] words = line.trim().split("\\s+");
            if (words.length > 3 && words[2].equals("inet")) {
                addresses.add(words[3].substring(0, words[3].indexOf('/')));
            }
        }
        return addresses;
    }

    @Test
    void theHostReachesAGuestPortAtTheSandboxsHostIp() {
        Sandbox s = sandbox(NetworkSpec.DEFAULT);
        Server inGuest = server(s.guest().netns(), "guest");
        assertEquals(Optional.of("guest " + s.net().hostSideIp()), Testbed.talk(null, s.net().hostIp(),
                inGuest.port()));
        Sandbox offline = sandbox(new NetworkSpec(false, List.of(), List.of()));
        Server inOffline = server(offline.guest().netns(), "offline");
        assertTrue(Testbed.talk(null, offline.net().hostIp(), inOffline.port()).isPresent(),
                "inbound does not depend on the egress policy");
    }

    @Test
    void theOutsideCannotReachAGuestThroughTheHost() throws Exception {
        Sandbox s = sandbox(NetworkSpec.DEFAULT);
        Server inGuest = server(s.guest().netns(), "guest");
        assertTrue(Testbed.talk(null, s.net().hostIp(), inGuest.port()).isPresent(), "open to the host itself");
        // A neighbour that routes the pool through this host: the global table stops it (new connections only).
        Testbed.sh("ip", "-n", bed.inetNs, "route", "add", bed.config.pool().toString(), "via", bed.publicHost);
        try {
            assertTrue(Testbed.blocked(bed.inetNs, s.net().hostIp(), inGuest.port()));
            Server internet = server(bed.inetNs, "internet");
            assertTrue(Testbed.talk(s.guest().netns(), bed.publicServer, internet.port()).isPresent(),
                    "replies to the guest's own connections still come in");
        } finally {
            Testbed.sh("ip", "-n", bed.inetNs, "route", "del", bed.config.pool().toString());
        }
    }

    @Test
    void aGuestCannotSendFromAnotherAddress() throws Exception {
        Sandbox s = sandbox(NetworkSpec.DEFAULT);
        Server internet = server(bed.inetNs, "internet");
        String spoofed = "198.51.100.254";
        Testbed.sh("ip", "-n", s.guest().netns(), "addr", "add", spoofed + "/32", "dev", GuestNetLayout.GUEST_IFACE);
        // Routes back to the spoofed address, all the way (our own links only), so only the rule can stop it.
        Testbed.sh("ip", "-n", bed.inetNs, "route", "add", spoofed, "via", bed.publicHost);
        Testbed.sh("ip", "route", "add", spoofed, "via", s.net().hostIp(), "dev", s.net().hostVeth());
        Testbed.sh("ip", "-n", s.net().netnsName(), "route", "add", spoofed, "via", GuestNetLayout.GUEST_IP);
        try {
            assertTrue(Testbed.talk(s.guest().netns(), bed.publicServer, internet.port()).isPresent());
            assertTrue(Testbed.blockedFrom(s.guest().netns(), spoofed, bed.publicServer, internet.port()));
        } finally {
            Testbed.sh("ip", "-n", bed.inetNs, "route", "del", spoofed);
            Testbed.sh("ip", "route", "del", spoofed); // goes with the link too, should the close come first
        }
    }

    @Test
    void createDestroyCyclesLeaveNothingBehind() throws Exception {
        int cycles = 20;
        long createNanos = 0;
        long closeNanos = 0;
        for (int i = 0; i < cycles; i++) {
            int slot = bed.host.slots().allocate();
            long t0 = System.nanoTime();
            SandboxNetns net = bed.host.create(slot, NetworkSpec.DEFAULT);
            long t1 = System.nanoTime();
            try (FakeGuest ignored = net.attachGuest(bed.fakeGuest("gst-" + bed.suffix + "-c"))) {
                assertTrue(Files.exists(Path.of("/sys/class/net", net.hostVeth())));
            }
            long t2 = System.nanoTime();
            net.close();
            long t3 = System.nanoTime();
            net.close(); // a second close does nothing
            bed.host.slots().release(slot);
            createNanos += t1 - t0;
            closeNanos += t3 - t2;
        }
        System.out.printf("SandboxNetns over %d cycles: create %.1f ms, close %.1f ms on average%n", cycles,
                createNanos / 1e6 / cycles, closeNanos / 1e6 / cycles);
        assertEquals(List.of(), bed.leftovers());
        assertEquals(0, bed.host.slots().inUse());
    }

    @Test
    void cleanupLeftoversRemovesWhatADeadEngineLeftAndNothingElse() throws Exception {
        int slot = bed.host.slots().allocate();
        SandboxNetns forgotten = bed.host.create(slot, NetworkSpec.DEFAULT);
        String notOurs = bed.config.prefix() + "-kept";
        Testbed.sh("ip", "netns", "add", notOurs);
        try {
            assertEquals(3, bed.host.cleanupLeftovers(), "namespace, host link, host table");
            assertEquals(List.of(notOurs), bed.leftovers());
            assertEquals(0, bed.host.cleanupLeftovers());
        } finally {
            Testbed.sh("ip", "netns", "del", notOurs);
            forgotten.close(); // finds nothing left to remove
            bed.host.slots().release(slot);
        }
    }

    @Test
    void aFailedCreateRemovesEverythingItMade() throws Exception {
        // Fail each command of a create in turn: nothing may stay behind.
        int commandsOfACreate = 0;
        for (int failAt = 1; ; failAt++) {
            AtomicInteger seen = new AtomicInteger();
            AtomicBoolean armed = new AtomicBoolean(true);
            int fail = failAt;
            Commands failing = (argv, stdin) -> {
                if (armed.get() && seen.incrementAndGet() == fail) {
                    throw new NetworkException("injected failure of " + argv);
                }
                return bed.commands.run(argv, stdin);
            };
            HostNetworking host = new HostNetworking(bed.config, failing);
            host.slots().reserve(0);
            SandboxNetns net;
            try {
                net = host.create(0, NetworkSpec.DEFAULT);
            } catch (NetworkException e) {
                assertTrue(e.getMessage().startsWith("injected failure"), e.getMessage());
                assertEquals(List.of(), bed.leftovers(), "after a failure at command " + failAt);
                continue;
            }
            armed.set(false);
            net.close();
            commandsOfACreate = failAt - 1;
            break;
        }
        assertTrue(commandsOfACreate >= 6, "only " + commandsOfACreate + " commands were failed");
        assertEquals(List.of(), bed.leftovers());
    }

    @Test
    void aFailedCloseStepDoesNotStopTheOthers() throws Exception {
        AtomicBoolean failNetnsDelete = new AtomicBoolean(false);
        Commands failing = (argv, stdin) -> {
            if (failNetnsDelete.get() && argv.equals(List.of("ip", "netns", "del", bed.config.slot(0).netns()))) {
                throw new NetworkException("injected failure of " + argv);
            }
            return bed.commands.run(argv, stdin);
        };
        HostNetworking host = new HostNetworking(bed.config, failing);
        host.slots().reserve(0);
        SandboxNetns net = host.create(0, NetworkSpec.DEFAULT);
        failNetnsDelete.set(true);
        NetworkException e = assertThrows(NetworkException.class, net::close);
        assertTrue(e.getMessage().startsWith("injected failure of [ip, netns, del"), e.getMessage());
        // The link and the table (the step after the failed one) went; the namespace is left for cleanupLeftovers.
        assertEquals(List.of(bed.config.slot(0).netns()), bed.leftovers());
        assertEquals(1, bed.host.cleanupLeftovers());
        assertEquals(List.of(), bed.leftovers());
    }

    @Test
    void aNameTakenByALeftoverFailsTheCreateCleanly() throws Exception {
        int slot = bed.host.slots().allocate();
        NetConfig.Slot names = bed.config.slot(slot);
        try {
            Testbed.sh("ip", "link", "add", names.hostVeth(), "type", "veth", "peer", "name", "xp" + bed.suffix);
            NetworkException e = assertThrows(NetworkException.class, () -> bed.host.create(slot,
                    NetworkSpec.DEFAULT));
            assertTrue(e.getMessage().contains("File exists"), e.getMessage());
            assertFalse(Files.exists(Path.of("/run/netns", names.netns())), "its namespace was removed");
            assertEquals(List.of(names.hostVeth()), bed.leftovers(), "and the leftover is untouched");
        } finally {
            HostObjects.deleteLink(bed.commands, names.hostVeth());
            bed.host.slots().release(slot);
        }
    }

    @Test
    void openTapMakesTheGatewayInsideTheNamespaceAndCanBeRepeated() throws Exception {
        assumeTrue(Files.exists(Path.of(Tap.DEVICE)), Tap.DEVICE + " missing");
        int slot = bed.host.slots().allocate();
        try (SandboxNetns net = bed.host.create(slot, NetworkSpec.DEFAULT)) {
            for (int round = 0; round < 2; round++) { // a resume opens a new TAP in the same namespace
                long t0 = System.nanoTime();
                try (Tap tap = net.openTap()) {
                    System.out.printf("openTap: %.1f ms%n", (System.nanoTime() - t0) / 1e6);
                    assertEquals(GuestNetLayout.TAP_NAME, tap.name());
                    String link = Testbed.sh("ip", "-n", net.netnsName(), "-o", "link", "show", "tap0");
                    assertTrue(link.contains("link/ether " + GuestNetLayout.GATEWAY_MAC), link);
                    assertTrue(link.contains(",UP"), link);
                    String addr = Testbed.sh("ip", "-n", net.netnsName(), "-o", "-4", "addr", "show", "tap0");
                    assertTrue(addr.contains("inet " + GuestNetLayout.GATEWAY_IP + "/30"), addr);
                    assertFalse(Files.exists(Path.of("/sys/class/net/tap0"))
                            && Testbed.sh("ip", "-o", "link", "show", "tap0").contains(GuestNetLayout.GATEWAY_MAC),
                            "not in the host's namespace");
                }
                assertFalse(Testbed.sh("ip", "-n", net.netnsName(), "-o", "link").contains("tap0"),
                        "closing the TAP removed it");
            }
        } finally {
            bed.host.slots().release(slot);
        }
    }

    @Test
    void aClosedNetworkRefusesAGuestAndClosesOnce() {
        int slot = bed.host.slots().allocate();
        SandboxNetns net = bed.host.create(slot, NetworkSpec.DEFAULT);
        net.close();
        net.close();
        assertThrows(IllegalStateException.class, net::openTap);
        bed.host.slots().release(slot);
        assertThrows(IllegalStateException.class, () -> bed.host.create(slot, NetworkSpec.DEFAULT),
                "a slot must be taken first");
    }
}
