package dev.sandbox.engine;

import dev.sandbox.engine.agent.ExecRequest;
import dev.sandbox.engine.agent.ExecResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine end to end on KVM: our VMM boots the guest kernel with the minimal template and talks to its agent over
 * our virtio-vsock. Boots are slow under the nested TCG host, so one sandbox (2 vCPUs, 256 MiB) serves most tests;
 * the others boot only what they must. Timings are printed, not asserted.
 */
@Tag("kvm")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KvmSandboxTest {
    private Engine engine;
    private Sandbox shared;

    @BeforeAll
    void boot() throws IOException {
        Path data = Files.createTempDirectory("sandbox-kvm-test");
        engine = Engine.open(new EngineConfig(data, EngineConfig.guestDirFromSystemProperty(), 2, 128, 1024,
                Duration.ofSeconds(120)));
        shared = timedCreate(new SandboxSpec("kvm-shared", "minimal", 2, 256));
    }

    @AfterAll
    void shutDown() {
        if (engine != null) {
            engine.close();
        }
    }

    @Test
    @Order(1)
    void agentAnswersAndEchoRunsInTheGuest() {
        assertEquals(Sandbox.State.RUNNING, shared.state());
        for (int i = 0; i < 3; i++) {
            long t0 = System.nanoTime();
            ExecResult r = shared.exec(ExecRequest.shell("echo hello"));
            System.out.printf("exec round trip: %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            assertEquals("hello\n", r.stdoutText());
            assertEquals(0, r.exitCode());
        }
        assertTrue(engine.find("kvm-shared").isPresent());
        // the agent's ping through the public API, over the connection exec uses
        assertTrue(shared.ping().compareTo(Duration.ofSeconds(5)) < 0);
    }

    @Test
    @Order(2)
    void exitCodesAndHostnameComeBack() {
        assertEquals(3, shared.exec(ExecRequest.shell("exit 3")).exitCode());
        assertEquals(3, shared.exec(ExecRequest.of("/bin/sh", "-c", "exit 3")).exitCode());
        assertEquals("kvm-shared\n", shared.exec(ExecRequest.of("hostname")).stdoutText());
    }

    @Test
    @Order(3)
    void guestSeesTwoVcpus() {
        assertEquals("2\n", shared.exec(ExecRequest.of("nproc")).stdoutText());
    }

    @Test
    @Order(4)
    void oneMebibyteBinaryFileRoundTrips() {
        byte[] content = new byte[1 << 20];
        new Random(42).nextBytes(content);
        long t0 = System.nanoTime();
        shared.writeFile("/tmp/blob.bin", new ByteArrayInputStream(content), 0644);
        long t1 = System.nanoTime();
        ByteArrayOutputStream back = new ByteArrayOutputStream();
        assertEquals(content.length, shared.readFile("/tmp/blob.bin", back, 2 << 20));
        System.out.printf("1 MiB write %d ms, read %d ms%n", (t1 - t0) / 1_000_000,
                (System.nanoTime() - t1) / 1_000_000);
        assertArrayEquals(content, back.toByteArray());
        assertEquals("1048576\n", shared.exec(ExecRequest.shell("wc -c < /tmp/blob.bin")).stdoutText());
    }

    @Test
    @Order(5)
    void pauseFreezesAndResumeThaws() {
        shared.pause();
        assertEquals(Sandbox.State.PAUSED, shared.state());
        EngineException e = assertThrows(EngineException.class, () -> shared.exec(ExecRequest.shell("true")));
        assertEquals(EngineException.Kind.INVALID_STATE, e.kind());
        shared.resume();
        assertEquals(Sandbox.State.RUNNING, shared.state());
        assertEquals("back\n", shared.exec(ExecRequest.shell("echo back")).stdoutText());
    }

    /**
     * The agent connection dies under a running VM (every vsock connection dropped, as a guest-side failure would):
     * the call that saw it fails, the sandbox reconnects once, and the next calls work; the guest kept its files.
     */
    @Test
    @Order(5)
    void aDeadAgentConnectionIsMendedOnce() throws ReflectiveOperationException {
        shared.writeFile("/tmp/before-drop", new ByteArrayInputStream("kept".getBytes(StandardCharsets.UTF_8)), 0644);
        var drop = shared.getClass().getDeclaredMethod("dropAgentConnection");
        drop.setAccessible(true);
        drop.invoke(shared);
        try {
            shared.exec(ExecRequest.shell("true"));
        } catch (RuntimeException expected) {
            // the call that found the connection dead
        }
        assertEquals(Sandbox.State.RUNNING, shared.state(), shared.failure().toString());
        assertEquals("kept", shared.exec(ExecRequest.shell("cat /tmp/before-drop")).stdoutText());
    }

    @Test
    @Order(6)
    void memorySizeReachesTheGuest() {
        long small = memTotalKb(shared);
        try (Sandbox big = timedCreate(new SandboxSpec("kvm-512", "minimal", 1, 512))) {
            long large = memTotalKb(big);
            System.out.printf("MemTotal: 256 MiB -> %d kB, 512 MiB -> %d kB%n", small, large);
            assertTrue(small > 200 * 1024 && small <= 256 * 1024, "256 MiB guest: " + small);
            assertTrue(large > 440 * 1024 && large <= 512 * 1024, "512 MiB guest: " + large);
            assertEquals("1\n", big.exec(ExecRequest.of("nproc")).stdoutText());
        }
    }

    @Test
    @Order(7)
    void invalidSpecsAreRejectedBeforeBooting() {
        for (SandboxSpec bad : new SandboxSpec[] {
                new SandboxSpec("x1", "minimal", 3, 256),
                new SandboxSpec("x2", "minimal", 1, 4096),
                new SandboxSpec("x3", "nosuch", 1, 256),
                new SandboxSpec("kvm-shared", "minimal", 1, 256)}) {
            EngineException e = assertThrows(EngineException.class, () -> engine.create(bad));
            assertEquals(EngineException.Kind.INVALID_SPEC, e.kind(), e.getMessage());
        }
    }

    @Test
    @Order(8)
    void guestPoweroffAndRebootStopTheSandbox() throws InterruptedException {
        for (String command : new String[] {"poweroff", "reboot -f"}) {
            try (Sandbox sb = timedCreate(new SandboxSpec("kvm-off", "minimal", 1, 128))) {
                try {
                    sb.exec(ExecRequest.shell(command));
                } catch (RuntimeException expected) {
                    // the agent goes away with the guest
                }
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (sb.state() == Sandbox.State.RUNNING && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertEquals(Sandbox.State.STOPPED, sb.state(), command + "; console:\n" + sb.consoleTail());
                EngineException e = assertThrows(EngineException.class, () -> sb.exec(ExecRequest.shell("true")));
                assertEquals(EngineException.Kind.INVALID_STATE, e.kind());
            }
            assertTrue(engine.find("kvm-off").isEmpty());
        }
    }

    /**
     * A kernel panic (forced through magic SysRq) reboots the guest at once: {@code panic=1} on our command line and
     * {@code reboot=k} take it through the i8042 reset, which the engine reports as the guest stopping itself
     * ({@code StopReason.GuestStopped}), so the sandbox is STOPPED, not FAILED (that is for KVM or VMM failures).
     */
    @Test
    @Order(9)
    void kernelPanicFailsTheSandbox() throws InterruptedException {
        try (Sandbox sb = timedCreate(new SandboxSpec("kvm-panic", "minimal", 1, 128))) {
            long t0 = System.nanoTime();
            try {
                ExecResult r = sb.exec(ExecRequest.shell("echo c > /proc/sysrq-trigger"));
                // The guest dies inside the write, so the exec should never come back; a failed write means the
                // kernel has no magic SysRq (CONFIG_MAGIC_SYSRQ), and there is nothing to wait for.
                assertEquals(0, r.exitCode(), "sysrq-trigger: " + r.stderrText());
            } catch (RuntimeException expected) {
                // the agent goes away with the guest
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (sb.state() == Sandbox.State.RUNNING && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            System.out.printf("panic to %s: %d ms%n", sb.state(), (System.nanoTime() - t0) / 1_000_000);
            String console = sb.consoleTail();
            assertEquals(Sandbox.State.FAILED, sb.state(), "console:\n" + console);
            assertTrue(console.contains("Kernel panic"), "console:\n" + console);
            assertTrue(sb.failure().orElseThrow().contains("Kernel panic"), sb.failure().toString());
            EngineException e = assertThrows(EngineException.class, () -> sb.exec(ExecRequest.shell("true")));
            assertEquals(EngineException.Kind.INVALID_STATE, e.kind());
        }
        assertTrue(engine.find("kvm-panic").isEmpty());
    }

    @Test
    @Order(10)
    void createDestroyCyclesLeakNoFdsOrThreads() throws InterruptedException, IOException {
        shared.close(); // measure with nothing else running
        cycle(0); // warm-up: class loading, JIT and pool threads that stay for good
        long fds = openFds();
        int threads = liveThreads();
        long vmMaps = vmMappings();
        int cycles = 20;
        long t0 = System.nanoTime();
        for (int i = 1; i <= cycles; i++) {
            try (Watchdog ignored = new Watchdog("cycle " + i, Duration.ofSeconds(90))) {
                cycle(i);
            }
        }
        System.out.printf("%d create/exec/destroy cycles (1 vCPU, 128 MiB): %d ms%n", cycles,
                (System.nanoTime() - t0) / 1_000_000);
        failedBoot(); // the failure path releases everything too
        long fdsAfter = openFds();
        int threadsAfter = liveThreads();
        System.out.printf("after %d cycles: fds %d -> %d, threads %d -> %d%n", cycles, fds, fdsAfter, threads,
                threadsAfter);
        long vmMapsAfter = vmMappings();
        System.out.printf("guest RAM and vCPU mappings: %d -> %d%n", vmMaps, vmMapsAfter);
        assertEquals(fds, fdsAfter, "open fds");
        assertEquals(threads, threadsAfter, "live threads");
        assertEquals(vmMaps, vmMapsAfter, "guest RAM and kvm_run mappings");
    }

    /** A boot cut short by its timeout: BOOT_FAILED carrying the console tail. */
    private static void failedBoot() throws IOException {
        Path data = Files.createTempDirectory("sandbox-impatient");
        try (Engine impatient = Engine.open(new EngineConfig(data, EngineConfig.guestDirFromSystemProperty(), 1, 128,
                256, Duration.ofMillis(300)))) {
            EngineException e = assertThrows(EngineException.class,
                    () -> impatient.create(new SandboxSpec("kvm-impatient", "minimal", 1, 128)));
            assertEquals(EngineException.Kind.BOOT_FAILED, e.kind());
            assertTrue(e.getMessage().contains("console tail"), e.getMessage());
            System.out.println("boot timeout reported as: " + e.getMessage().lines().findFirst().orElse(""));
            assertTrue(impatient.sandboxes().isEmpty());
        }
    }

    private void cycle(int i) {
        Sandbox sb = timedCreate(new SandboxSpec("kvm-cycle-" + i, "minimal", 1, 128));
        try {
            assertEquals("ok\n", sb.exec(ExecRequest.shell("echo ok")).stdoutText());
        } finally {
            long t0 = System.nanoTime();
            sb.close();
            System.out.printf("destroy kvm-cycle-%d: %d ms%n", i, (System.nanoTime() - t0) / 1_000_000);
        }
    }

    private Sandbox timedCreate(SandboxSpec spec) {
        long t0 = System.nanoTime();
        Sandbox sb = engine.create(spec);
        System.out.printf("create %s (%d vCPU, %d MiB) to agent ready: %d ms%n", spec.id(), spec.vcpus(),
                spec.memoryMb(), (System.nanoTime() - t0) / 1_000_000);
        return sb;
    }

    private static long memTotalKb(Sandbox sb) {
        String meminfo = sb.exec(ExecRequest.of("cat", "/proc/meminfo")).stdoutText();
        Matcher m = Pattern.compile("MemTotal:\\s+(\\d+) kB").matcher(meminfo);
        assertTrue(m.find(), meminfo);
        return Long.parseLong(m.group(1));
    }

    private static long openFds() {
        String[] names = new java.io.File("/proc/self/fd").list();
        return names == null ? -1 : names.length;
    }

    /** Mappings of guest RAM (our memfds) and of the vCPUs' kvm_run areas in this JVM. */
    private static long vmMappings() throws IOException {
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.filter(l -> l.contains("sandbox-ram-") || l.contains("kvm-vcpu")).count();
        }
    }

    /** Live threads once short-lived ones (agent readers, stop notifiers) had a moment to end. */
    private static int liveThreads() throws InterruptedException {
        Thread.sleep(500);
        return (int) Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).count();
    }

}
