package dev.sandbox.engine.vmm.devices.virtio.net;

import dev.sandbox.ffi.Errno;
import dev.sandbox.ffi.NativeException;
import dev.sandbox.ffi.PollSet;
import dev.sandbox.ffi.net.Tap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@link TapBackend} on a real TAP (needs /dev/net/tun and CAP_NET_ADMIN; skipped without them). The interface gets
 * a random name and is moved into a network namespace of the test's own before it is brought up, so traffic never
 * touches the host's interfaces; the namespace is deleted after each test. Addresses are documentation ones:
 * 198.51.100.1 is the TAP's side, 198.51.100.2 the "guest" this backend stands in for.
 */
class TapBackendTest {
    private static final int HDR = NetHeader.SIZE;
    private static final String HOST_IP = "198.51.100.1";
    private static final String GUEST_IP = "198.51.100.2";
    private static final byte[] GUEST_MAC = {2, (byte) 0xfc, 0, 0, 0, 0x15};

    private final Arena arena = Arena.ofShared();
    private String ns;
    private TapBackend backend;
    private String name;
    private byte[] tapMac;

    @BeforeEach
    void tapInANamespace() throws Exception {
        assumeTrue(Files.exists(Path.of(Tap.DEVICE)), Tap.DEVICE + " missing");
        String random = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        Tap tap;
        try {
            tap = Tap.open("sbt" + random);
        } catch (NativeException e) {
            assumeFalse(e.is(Errno.EPERM) || e.is(Errno.EACCES), "no CAP_NET_ADMIN: " + e.getMessage());
            throw e;
        }
        backend = TapBackend.over(tap);
        name = backend.interfaceName();
        tapMac = HexFormat.ofDelimiter(":").parseHex(
                Files.readString(Path.of("/sys/class/net", name, "address")).strip());
        ns = "sbx-tapbe-" + random;
        sh("ip", "netns", "add", ns);
        sh("ip", "link", "set", name, "netns", ns);
        sh("ip", "-n", ns, "link", "set", name, "up");
        sh("ip", "-n", ns, "addr", "add", HOST_IP + "/24", "dev", name);
        sh("ip", "-n", ns, "neigh", "add", GUEST_IP, "lladdr", "02:fc:00:00:00:15", "dev", name, "nud",
                "permanent");
    }

    @AfterEach
    void release() throws Exception {
        try {
            if (backend != null) {
                backend.close();
            }
        } finally {
            arena.close();
            if (ns != null) {
                new ProcessBuilder("ip", "netns", "del", ns).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aFrameSentThroughTheBackendReachesTheKernelWhichAnswersThroughReceive() throws Exception {
        long rxBefore = counter("/sys/class/net/" + name + "/statistics/rx_packets");
        long noPortsBefore = udpNoPorts();
        byte[] payload = "hello-kernel".getBytes(StandardCharsets.US_ASCII);
        // UDP to a port nobody listens on: the kernel counts it and answers ICMP port unreachable.
        assertTrue(backend.send(segment(udpPacket(tapMac, GUEST_MAC, GUEST_IP, HOST_IP, 40000, 9, payload))));

        assertEquals(rxBefore + 1, counter("/sys/class/net/" + name + "/statistics/rx_packets"));
        assertEquals(noPortsBefore + 1, udpNoPorts(), "the kernel took it as UDP for its own address");
        byte[] reply = awaitIpv4(frame -> frame[HDR + 23] == 1 /* ICMP */);
        assertArrayEquals(GUEST_MAC, Arrays.copyOfRange(reply, HDR, HDR + 6));
        int icmp = HDR + 14 + 20;
        assertEquals(3, reply[icmp], "destination unreachable");
        assertEquals(3, reply[icmp + 1], "port unreachable");
        assertEquals(0, backend.errors());
    }

    @Test
    void aPacketTheKernelSendsIsReadByReceiveAfterTheTapPollsReadable() throws Exception {
        MemorySegment buffer = arena.allocate(VirtioNet.MAX_PACKET);
        int reads = 0;
        while (backend.receive(buffer) >= 0 && reads < 100) {
            reads++; // IPv6 chatter of an interface just brought up
        }
        assertTrue(reads < 100, "an empty TAP answers -1 at once, it does not block");
        sh("ip", "netns", "exec", ns, "bash", "-c", "printf hello-guest > /dev/udp/" + GUEST_IP + "/7");
        try (PollSet set = new PollSet(List.of(backend.readiness().orElseThrow()))) {
            assertEquals(1, set.await(10_000), "the backend's descriptor polls readable");
        }
        byte[] payload = "hello-guest".getBytes(StandardCharsets.US_ASCII);
        byte[] packet = awaitIpv4(frame -> frame[HDR + 23] == 17 /* UDP */);
        assertEquals(0, packet[0], "no offload: a complete, checksummed frame");
        assertEquals(NetHeader.GSO_NONE, packet[1]);
        assertArrayEquals(GUEST_MAC, Arrays.copyOfRange(packet, HDR, HDR + 6), "for the guest");
        assertArrayEquals(tapMac, Arrays.copyOfRange(packet, HDR + 6, HDR + 12));
        assertArrayEquals(payload, Arrays.copyOfRange(packet, packet.length - payload.length, packet.length));
    }

    @Test
    void aFrameTheKernelRefusesIsADropNotAnException() {
        assertFalse(backend.send(segment(new byte[HDR + 10])), "shorter than an Ethernet header: EINVAL");
        assertEquals(1, backend.errors());
        assertEquals(0, backend.sendsRefused());
    }

    @Test
    void closingTheBackendClosesTheTapAndTheInterfaceGoes() throws Exception {
        int fd = backend.readiness().orElseThrow().fd();
        assertEquals(Tap.DEVICE, Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString());
        backend.close();
        assertFalse(Files.isSymbolicLink(Path.of("/proc/self/fd/" + fd))
                && Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString().equals(Tap.DEVICE));
        assertNotEquals(0, run("ip", "-n", ns, "link", "show", name), "the interface left with its descriptor");
        assertEquals(-1, backend.receive(arena.allocate(VirtioNet.MAX_PACKET)), "a closed backend receives nothing");
        assertFalse(backend.send(segment(new byte[HDR + 60])));
    }

    /** Reads packets until an IPv4 one that {@code wanted} accepts (IPv6 chatter is skipped); returns it. */
    private byte[] awaitIpv4(java.util.function.Predicate<byte[]> wanted) throws InterruptedException {
        MemorySegment buffer = arena.allocate(VirtioNet.MAX_PACKET);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<String> seen = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            int n = backend.receive(buffer);
            if (n < 0) {
                Thread.sleep(5);
                continue;
            }
            byte[] packet = buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
            int type = (packet[HDR + 12] & 0xff) << 8 | packet[HDR + 13] & 0xff;
            seen.add("0x" + Integer.toHexString(type) + "/" + n);
            if (type == 0x0800 && n > HDR + 34 && wanted.test(packet)) {
                return packet;
            }
        }
        throw new AssertionError("no such IPv4 packet read; saw " + seen);
    }

    private MemorySegment segment(byte[] bytes) {
        return arena.allocateFrom(ValueLayout.JAVA_BYTE, bytes);
    }

    /** A plain virtio-net header, Ethernet, IPv4 (checksummed) and UDP (no checksum, allowed over IPv4). */
    static byte[] udpPacket(byte[] dstMac, byte[] srcMac, String srcIp, String dstIp, int srcPort, int dstPort,
                            byte[] payload) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(HDR + 14 + 20 + 8 + payload.length);
        b.put(new byte[HDR]).put(dstMac).put(srcMac).putShort((short) 0x0800);
        int ip = b.position();
        b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + 8 + payload.length)).putShort((short) 1)
                .putShort((short) 0x4000).put((byte) 64).put((byte) 17).putShort((short) 0)
                .put(java.net.InetAddress.getByName(srcIp).getAddress())
                .put(java.net.InetAddress.getByName(dstIp).getAddress());
        int sum = 0;
        for (int i = ip; i < ip + 20; i += 2) {
            sum += b.getShort(i) & 0xffff;
        }
        sum = (sum & 0xffff) + (sum >>> 16);
        sum = (sum & 0xffff) + (sum >>> 16);
        b.putShort(ip + 10, (short) ~sum);
        b.putShort((short) srcPort).putShort((short) dstPort).putShort((short) (8 + payload.length))
                .putShort((short) 0).put(payload);
        return b.array();
    }

    private long udpNoPorts() throws Exception {
        String[] lines = sh("ip", "netns", "exec", ns, "cat", "/proc/net/snmp").lines()
                .filter(l -> l.startsWith("Udp:")).toArray(String[]::new);
        List<String> names = Arrays.asList(lines[0].split("\\s+"));
        return Long.parseLong(lines[1].split("\\s+")[names.indexOf("NoPorts")]);
    }

    private long counter(String file) throws Exception {
        return Long.parseLong(sh("ip", "netns", "exec", ns, "cat", file).strip());
    }

    private static int run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "timed out: " + List.of(command));
        return p.exitValue();
    }

    private static String sh(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "timed out: " + List.of(command));
        assertEquals(0, p.exitValue(), List.of(command) + " failed: " + out);
        return out;
    }
}
