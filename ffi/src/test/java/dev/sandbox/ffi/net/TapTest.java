package dev.sandbox.ffi.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sandbox.ffi.Errno;
import dev.sandbox.ffi.NativeException;
import dev.sandbox.ffi.PollSet;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real TAP interfaces (needs CAP_NET_ADMIN and /dev/net/tun; skipped without them). Traffic only ever flows inside a
 * network namespace the test creates and deletes: the interface is moved there before it is brought up.
 */
class TapTest {
    private static final int HDR = (int) TapAbi.virtio_net_hdr_v1.byteSize();

    @BeforeAll
    static void tunAvailable() {
        assumeTrue(Files.exists(Path.of(Tap.DEVICE)), Tap.DEVICE + " missing");
    }

    private static Tap openOrSkip(String name) {
        try {
            return Tap.open(name);
        } catch (NativeException e) {
            assumeFalse(e.is(Errno.EPERM) || e.is(Errno.EACCES), "no CAP_NET_ADMIN: " + e.getMessage());
            throw e;
        }
    }

    @Test
    void kernelNumbersTheInterfaceAndCloseReleasesTheFd() throws IOException {
        Tap tap = openOrSkip("sbxt%d");
        int fd = tap.fd();
        try {
            assertTrue(tap.name().matches("sbxt\\d+"), tap.name());
            assertEquals(Tap.DEVICE, fdTarget(fd));
            assertTrue(Files.exists(Path.of("/sys/class/net", tap.name())), "interface exists");
            tap.setVnetHeaderSize(HDR);
            tap.setOffload(0);
        } finally {
            tap.close();
        }
        assertNotEquals(Tap.DEVICE, fdTarget(fd), "fd released");
        assertThrows(IllegalStateException.class, () -> tap.setVnetHeaderSize(HDR));
        assertThrows(IllegalStateException.class, tap::fd);
        tap.close(); // idempotent
    }

    @Test
    void keepsAGivenName() {
        try (Tap tap = openOrSkip("sbxtap-given"); PollSet set = new PollSet(List.of(tap))) {
            assertEquals("sbxtap-given", tap.name());
            assertEquals(0, set.await(0), "a down interface does not poll readable");
            assertEquals(-1, readInto(tap, new byte[2048]), "nothing to read on a down interface");
        }
    }

    @Test
    void failedIoctlReleasesTheFd() throws IOException {
        try (Tap probe = openOrSkip("")) { // skips without the capability
            assertTrue(probe.name().startsWith("tap"), probe.name());
        }
        long before = tunFds();
        // "lo" exists and is no TAP: TUNSETIFF refuses it after open succeeded.
        NativeException e = assertThrows(NativeException.class, () -> Tap.open("lo"));
        assertTrue(e.is(Errno.EINVAL), e.getMessage());
        assertEquals(before, tunFds(), "the fd of the failed open is closed");
    }

    @Test
    void refusesNamesTheKernelWould() {
        for (String bad : Arrays.asList(null, "bad/name", "with space", "a:b", "..", "sixteen-chars-xx")) {
            assertThrows(IllegalArgumentException.class, () -> Tap.open(bad), String.valueOf(bad));
        }
    }

    @Test
    void framesPassWithTheirVirtioNetHeaderInBothDirections() throws Exception {
        String ns = "sbx-taptest-" + ProcessHandle.current().pid();
        Tap tap = openOrSkip("sbxt%d");
        try {
            tap.setVnetHeaderSize(HDR);
            tap.setOffload(0);
            String name = tap.name();
            sh("ip", "netns", "add", ns);
            sh("ip", "link", "set", name, "netns", ns);
            sh("ip", "-n", ns, "link", "set", name, "up");
            sh("ip", "-n", ns, "addr", "add", "198.51.100.1/24", "dev", name);
            sh("ip", "-n", ns, "neigh", "add", "198.51.100.2", "lladdr", "02:00:00:00:00:02", "dev", name,
                    "nud", "permanent");
            sh("ip", "netns", "exec", ns, "bash", "-c", "printf hello-tap > /dev/udp/198.51.100.2/9");
            try (PollSet set = new PollSet(List.of(tap))) {
                assertEquals(1, set.await(10_000), "a waiting packet makes the TAP poll readable");
                assertTrue(set.readable(0));
            }

            byte[] packet = awaitUdp(tap, "hello-tap".getBytes(StandardCharsets.US_ASCII));
            assertEquals(0, packet[0], "flags: offloads are off, so the kernel checksummed the frame itself");
            assertEquals(TapAbi.VIRTIO_NET_HDR_GSO_NONE, packet[1]);
            assertArrayEquals(new byte[] {2, 0, 0, 0, 0, 2}, Arrays.copyOfRange(packet, HDR, HDR + 6));
            byte[] tapMac = Arrays.copyOfRange(packet, HDR + 6, HDR + 12);

            // Back the other way: a zero header and a frame to the interface's own MAC (local experimental type).
            byte[] reply = new byte[HDR + 60];
            System.arraycopy(tapMac, 0, reply, HDR, 6);
            System.arraycopy(new byte[] {2, 0, 0, 0, 0, 2}, 0, reply, HDR + 6, 6);
            reply[HDR + 12] = (byte) 0x88;
            reply[HDR + 13] = (byte) 0xb5;
            long rxBefore = rxPackets(ns, name);
            try (Arena arena = Arena.ofConfined()) {
                assertTrue(tap.write(arena.allocateFrom(ValueLayout.JAVA_BYTE, reply)));
            }
            assertEquals(rxBefore + 1, rxPackets(ns, name), "the kernel took the frame");
        } finally {
            tap.close();
            new ProcessBuilder("ip", "netns", "del", ns).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** Reads packets until an IPv4 UDP frame carrying {@code payload} (IPv6 chatter is skipped); returns it. */
    private static byte[] awaitUdp(Tap tap, byte[] payload) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        byte[] buffer = new byte[HDR + 65550];
        List<String> seen = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            int n = readInto(tap, buffer);
            if (n < 0) {
                Thread.sleep(5);
                continue;
            }
            byte[] packet = Arrays.copyOf(buffer, n);
            int type = (packet[HDR + 12] & 0xff) << 8 | packet[HDR + 13] & 0xff;
            seen.add("0x" + Integer.toHexString(type) + "/" + n);
            if (type == 0x0800 && n >= payload.length && Arrays.equals(payload,
                    Arrays.copyOfRange(packet, n - payload.length, n))) {
                return packet;
            }
        }
        throw new AssertionError("no UDP frame read back; saw " + seen);
    }

    private static int readInto(Tap tap, byte[] into) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(into.length);
            int n = tap.read(buffer);
            if (n > 0) {
                MemorySegment.copy(buffer, ValueLayout.JAVA_BYTE, 0, into, 0, n);
            }
            return n;
        }
    }

    private static String fdTarget(int fd) throws IOException {
        Path link = Path.of("/proc/self/fd/" + fd);
        return Files.isSymbolicLink(link) ? Files.readSymbolicLink(link).toString() : "";
    }

    private static long tunFds() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(p -> {
                try {
                    return Files.readSymbolicLink(p).toString().equals(Tap.DEVICE);
                } catch (IOException e) {
                    return false; // closed while listing (the listing's own fd)
                }
            }).count();
        }
    }

    private static long rxPackets(String ns, String name) throws Exception {
        return Long.parseLong(sh("ip", "netns", "exec", ns, "cat",
                "/sys/class/net/" + name + "/statistics/rx_packets").strip());
    }

    private static String sh(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "timed out: " + List.of(command));
        assertEquals(0, p.exitValue(), List.of(command) + " failed: " + out);
        return out;
    }
}
