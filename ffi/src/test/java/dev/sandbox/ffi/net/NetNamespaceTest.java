package dev.sandbox.ffi.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sandbox.ffi.Errno;
import dev.sandbox.ffi.NativeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Real namespaces (needs root and {@code ip}; skipped without them), each made and deleted by the test. */
class NetNamespaceTest {
    private final String ns = "ffint-" + ProcessHandle.current().pid() + "-" + System.nanoTime() % 100000;

    @BeforeEach
    void createNamespace() throws Exception {
        assumeTrue(ProcessHandle.current().info().user().map("root"::equals).orElse(false), "needs root");
        assumeTrue(exec("ip", "netns", "add", ns).exit == 0, "cannot create a network namespace");
    }

    @AfterEach
    void deleteNamespace() throws Exception {
        exec("ip", "netns", "del", ns);
    }

    @Test
    void actionRunsInTheNamespaceOnAThreadOfItsOwnAndTheCallerStaysOut() throws Exception {
        String outside = netnsOfThisThread();
        Thread caller = Thread.currentThread();
        AtomicReference<Thread> ran = new AtomicReference<>();
        String inside = NetNamespace.call(ns, () -> {
            ran.set(Thread.currentThread());
            return netnsOfThisThread();
        });
        assertNotEquals(outside, inside);
        assertEquals(outside, netnsOfThisThread(), "the caller's namespace is unchanged");
        assertFalse(ran.get().isVirtual());
        assertTrue(ran.get() != caller && !ran.get().isAlive(), "a fresh thread that ended");
        // The same namespace as `ip netns exec` sees: compare inode numbers.
        String viaIp = exec("ip", "netns", "exec", ns, "stat", "-L", "-c", "%i", "/proc/self/ns/net").out.strip();
        assertTrue(inside.contains("[" + viaIp + "]"), inside + " vs inode " + viaIp);
    }

    @Test
    void worksFromAVirtualThreadWithoutMovingIt() throws Exception {
        AtomicReference<String> before = new AtomicReference<>();
        AtomicReference<String> after = new AtomicReference<>();
        AtomicReference<String> inside = new AtomicReference<>();
        Thread.ofVirtual().start(() -> {
            try {
                before.set(netnsOfThisThread());
                inside.set(NetNamespace.call(ns, NetNamespaceTest::netnsOfThisThread));
                after.set(netnsOfThisThread());
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }).join();
        assertNotEquals(before.get(), inside.get());
        assertEquals(before.get(), after.get());
    }

    @Test
    void tapOpenedInsideBelongsToThatNamespaceAndOutlivesTheThread() throws Exception {
        String name = "nst" + ProcessHandle.current().pid() % 100000;
        Tap tap;
        try {
            tap = NetNamespace.call(ns, () -> Tap.open(name));
        } catch (NativeException e) {
            assumeTrue(!e.is(Errno.ENOENT), Tap.DEVICE + " missing");
            throw e;
        }
        try {
            assertEquals(name, tap.name());
            assertEquals(0, exec("ip", "-n", ns, "link", "show", name).exit, "the TAP is in the namespace");
            assertFalse(Files.exists(Path.of("/sys/class/net", name)), "and not in ours");
            tap.setVnetHeaderSize(12); // the fd still works from a thread outside the namespace
        } finally {
            tap.close();
        }
        assertNotEquals(0, exec("ip", "-n", ns, "link", "show", name).exit, "closing the fd removed it");
    }

    @Test
    void sysctlWrittenInsideIsTheNamespacesOwn() throws Exception {
        Path forward = Path.of("/proc/sys/net/ipv4/ip_forward");
        String hostValue = Files.readString(forward).strip();
        String want = hostValue.equals("1") ? "0" : "1";
        NetNamespace.run(ns, () -> Files.writeString(forward, want));
        assertEquals(want, exec("ip", "netns", "exec", ns, "cat", forward.toString()).out.strip());
        assertEquals(hostValue, Files.readString(forward).strip(), "the host's own setting is untouched");
    }

    @Test
    void failuresComeBackToTheCaller() {
        IOException checked = new IOException("from inside");
        assertSame(checked, assertThrows(IOException.class, () -> NetNamespace.run(ns, () -> {
            throw checked;
        })));
        IllegalStateException unchecked = new IllegalStateException("unchecked");
        assertSame(unchecked, assertThrows(IllegalStateException.class, () -> NetNamespace.call(ns, () -> {
            throw unchecked;
        })));
        NativeException missing = assertThrows(NativeException.class,
                () -> NetNamespace.call(ns + "-missing", () -> "never"));
        assertTrue(missing.is(Errno.ENOENT), missing.getMessage());
        for (String bad : List.of("", "a/b", "..", ".")) {
            assertThrows(IllegalArgumentException.class, () -> NetNamespace.call(bad, () -> "never"), bad);
        }
    }

    @Test
    void anInterruptedCallerStillWaitsForTheActionAndKeepsTheInterrupt() throws Exception {
        AtomicReference<Boolean> interruptedAfter = new AtomicReference<>();
        AtomicReference<String> result = new AtomicReference<>();
        Thread caller = Thread.ofPlatform().start(() -> {
            Thread.currentThread().interrupt();
            try {
                result.set(NetNamespace.call(ns, () -> {
                    Thread.sleep(100);
                    return "done";
                }));
            } catch (InterruptedException e) {
                throw new AssertionError("the action was not interrupted", e);
            }
            interruptedAfter.set(Thread.currentThread().isInterrupted());
        });
        caller.join(10_000);
        assertEquals("done", result.get());
        assertTrue(interruptedAfter.get());
    }

    private static String netnsOfThisThread() throws IOException {
        return Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
    }

    private record Result(int exit, String out) {}

    private static Result exec(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "timed out: " + List.of(command));
        return new Result(p.exitValue(), out);
    }
}
