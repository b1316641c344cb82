package dev.sandbox.engine;

import dev.sandbox.engine.agent.AgentException;
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
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pause and resume through snapshots on KVM: the VM goes to disk and is freed, then comes back from the files with
 * its memory, files and processes. Timings are printed, not asserted.
 */
@Tag("kvm")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KvmSnapshotTest {
    private static final String ID = "kvm-snap";
    private Path data;
    private Engine engine;
    private Sandbox sb;
    private String pid;

    @BeforeAll
    void boot() throws IOException {
        data = Files.createTempDirectory("sandbox-snapshot-test");
        engine = Engine.open(new EngineConfig(data, EngineConfig.guestDirFromSystemProperty(), 2, 128, 1024,
                Duration.ofSeconds(120)));
        sb = engine.create(new SandboxSpec(ID, "minimal", 1, 128));
    }

    @AfterAll
    void shutDown() {
        if (engine != null) {
            engine.close();
        }
        assertFalse(Files.exists(data.resolve(ID)), "destroy removes the snapshot folder");
    }

    @Test
    @Order(1)
    void fileAndBackgroundProcessSurvive() throws InterruptedException, IOException {
        byte[] blob = new byte[256 * 1024];
        new Random(11).nextBytes(blob);
        sb.writeFile("/root/blob.bin", new ByteArrayInputStream(blob), 0644);
        pid = sb.exec(ExecRequest.shell("setsid sh -c 'i=0; while true; do i=$((i+1)); echo $i > /tmp/counter;"
                + " sleep 0.1; done' </dev/null >/dev/null 2>&1 & echo $!")).stdoutText().trim();
        assertTrue(pid.matches("\\d+"), pid);
        int vmThreads = vmThreads();
        assertKeptConnection("a clone of the template");

        long t0 = System.nanoTime();
        sb.pause();
        long paused = System.nanoTime();
        assertEquals(Sandbox.State.PAUSED, sb.state());
        assertTrue(Files.exists(data.resolve(ID).resolve("vmstate")));
        try (var files = Files.list(data.resolve(ID))) {
            // a clone of the template: its RAM is the template's base plus a delta of the pages it wrote
            assertTrue(files.anyMatch(f -> f.getFileName().toString().startsWith("delta-")), "a memory delta");
        }
        assertEquals(0, vmThreads(), "a paused sandbox holds no vCPU or device threads (had " + vmThreads + ")");
        EngineException e = assertThrows(EngineException.class, () -> sb.exec(ExecRequest.shell("true")));
        assertEquals(EngineException.Kind.INVALID_STATE, e.kind());

        Thread.sleep(1500); // the guest's wall clock must be set again after this gap
        long t1 = System.nanoTime();
        sb.resume();
        long resumed = System.nanoTime();
        System.out.printf("pause %d ms, resume %d ms (1 vCPU, 128 MiB)%n", (paused - t0) / 1_000_000,
                (resumed - t1) / 1_000_000);
        assertEquals(Sandbox.State.RUNNING, sb.state());
        assertKeptConnection("after a resume");

        ByteArrayOutputStream back = new ByteArrayOutputStream();
        sb.readFile("/root/blob.bin", back, 1 << 20);
        assertArrayEquals(blob, back.toByteArray());
        assertEquals(0, sb.exec(ExecRequest.shell("kill -0 " + pid)).exitCode(), "background process alive");
        long c1 = counter();
        Thread.sleep(600);
        long c2 = counter();
        assertTrue(c2 > c1, "the background process keeps counting: " + c1 + " -> " + c2);
        long guestNow = Long.parseLong(sb.exec(ExecRequest.of("date", "+%s")).stdoutText().trim());
        long hostNow = System.currentTimeMillis() / 1000;
        assertTrue(Math.abs(guestNow - hostNow) <= 3, "guest clock " + guestNow + " vs host " + hostNow);
    }

    @Test
    @Order(2)
    void twentyCyclesInARowKeepEverything() {
        List<Long> pauses = new ArrayList<>();
        List<Long> resumes = new ArrayList<>();
        for (int i = 1; i <= 20; i++) {
            try (Watchdog ignored = new Watchdog("cycle " + i, Duration.ofSeconds(90))) {
                cycle(i, pauses, resumes);
            }
        }
        Collections.sort(pauses);
        Collections.sort(resumes);
        System.out.printf("20 pause/resume cycles (1 vCPU, 128 MiB): pause p50 %d ms max %d ms, resume p50 %d ms"
                + " max %d ms%n", pauses.get(10), pauses.get(19), resumes.get(10), resumes.get(19));
    }

    private void cycle(int i, List<Long> pauses, List<Long> resumes) {
        {
            String line = "cycle " + i;
            sb.writeFile("/root/cycle-" + i, new ByteArrayInputStream(line.getBytes(StandardCharsets.UTF_8)), 0644);
            long t0 = System.nanoTime();
            sb.pause();
            long t1 = System.nanoTime();
            sb.resume();
            long t2 = System.nanoTime();
            pauses.add((t1 - t0) / 1_000_000);
            resumes.add((t2 - t1) / 1_000_000);
            ExecResult r = sb.exec(ExecRequest.shell("cat /root/cycle-" + i + "; echo; cat /root/cycle-1; echo;"
                    + " kill -0 " + pid + " && echo alive"));
            assertEquals(line + "\ncycle 1\nalive\n", r.stdoutText(), "after cycle " + i + ": " + r.stderrText());
        }
    }

    @Test
    @Order(3)
    void aCorruptOrForeignSnapshotIsRefusedAndNothingBreaks() throws IOException {
        sb.pause();
        Path state = data.resolve(ID).resolve("vmstate");
        byte[] good = Files.readAllBytes(state);

        byte[] flipped = good.clone();
        flipped[flipped.length / 2] ^= 0x40;
        Files.write(state, flipped);
        EngineException corrupt = assertThrows(EngineException.class, sb::resume);
        assertTrue(corrupt.getMessage().contains("checksum"), corrupt.getMessage());
        assertEquals(Sandbox.State.PAUSED, sb.state(), "a refused snapshot leaves the sandbox paused");

        byte[] version = good.clone();
        version[11] = 7; // u32 big-endian version after the 8-byte magic
        Files.write(state, version);
        EngineException foreign = assertThrows(EngineException.class, sb::resume);
        assertTrue(foreign.getMessage().contains("version"), foreign.getMessage());
        assertEquals(Sandbox.State.PAUSED, sb.state());
        System.out.println("refused: " + corrupt.getMessage() + " | " + foreign.getMessage());

        Files.write(state, good);
        // This sandbox is a clone of a template, so its RAM is the template's base plus a delta of its own pages.
        Path delta;
        try (var files = Files.list(data.resolve(ID))) {
            delta = files.filter(f -> f.getFileName().toString().startsWith("delta-")).findFirst().orElseThrow();
        }
        byte[] pages = Files.readAllBytes(delta);
        System.out.printf("memory delta after 20 cycles: %d KiB%n", pages.length >> 10);
        byte[] damaged = pages.clone();
        damaged[damaged.length - 100] ^= 1;
        Files.write(delta, damaged);
        EngineException badDelta = assertThrows(EngineException.class, sb::resume);
        assertTrue(badDelta.getMessage().contains("checksum"), badDelta.getMessage());
        assertEquals(Sandbox.State.PAUSED, sb.state());
        Files.write(delta, pages);
        sb.resume();
        assertEquals("cycle 20\n", sb.exec(ExecRequest.shell("cat /root/cycle-20; echo")).stdoutText());
    }

    @Test
    @Order(4)
    void aPausedSandboxOutlivesItsEngine() throws IOException {
        sb.pause();
        engine.close(); // as at a server shutdown or crash: the snapshot stays
        assertTrue(Files.exists(data.resolve(ID).resolve("vmstate")));
        Files.createDirectories(data.resolve("stray"));
        Files.write(data.resolve("stray").resolve("vmstate"), new byte[] {1, 2, 3});

        engine = Engine.open(new EngineConfig(data, EngineConfig.guestDirFromSystemProperty(), 2, 128, 1024,
                Duration.ofSeconds(120)));
        sb = engine.recover(new SandboxSpec(ID, "minimal", 1, 128)).orElseThrow();
        assertTrue(engine.recover(new SandboxSpec("kvm-never-paused", "minimal", 1, 128)).isEmpty());
        assertEquals(List.of(new SandboxSpec(ID, "minimal", 1, 128)), engine.snapshotsOnDisk());
        assertEquals(List.of("stray"), engine.quarantineUnclaimed());
        assertFalse(Files.exists(data.resolve("stray")));
        try (var kept = Files.list(data.resolve(".quarantine"))) { // moved aside, never deleted
            assertTrue(kept.anyMatch(p -> p.getFileName().toString().startsWith("stray-")));
        }
        assertEquals(Sandbox.State.PAUSED, sb.state());
        sb.resume();
        assertEquals("cycle 20\nalive\n", sb.exec(ExecRequest.shell("cat /root/cycle-20; echo; kill -0 " + pid
                + " && echo alive")).stdoutText());
    }

    private long counter() {
        return Long.parseLong(sb.exec(ExecRequest.of("cat", "/tmp/counter")).stdoutText().trim());
    }

    private static int vmThreads() {
        return (int) Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith(ID + "-")).count();
    }

    /**
     * MXCSR is part of the task that runs when the snapshot is taken: KVM_SET_FPU ignores it, so without the XSAVE
     * area a spinning task would come back with the default rounding mode. Also checks that the snapshot holds the
     * MTRRs (KVM does not list them; boot sets MTRR_DEF_TYPE) and the vCPU's CPUID and TSC frequency.
     */
    @Test
    @Order(5)
    void mxcsrMtrrsAndCpuidSurvive() throws IOException, InterruptedException {
        Path probe = Files.createTempFile("mxcsr-probe", "");
        Path source = Files.createTempFile("mxcsr-probe", ".c");
        try (var in = KvmSnapshotTest.class.getResourceAsStream("/mxcsr-probe.c")) {
            Files.write(source, in.readAllBytes());
        }
        Process cc = new ProcessBuilder("musl-gcc", "-static", "-O1", "-o", probe.toString(), source.toString())
                .redirectErrorStream(true).start();
        String ccOut = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, cc.waitFor(), "musl-gcc: " + ccOut);
        sb.writeFile("/root/mxcsr-probe", new ByteArrayInputStream(Files.readAllBytes(probe)), 0755);
        sb.exec(ExecRequest.shell("setsid /root/mxcsr-probe /tmp/mxcsr.out </dev/null >/dev/null 2>&1 &"));
        waitFor("ok", 60);
        for (int i = 0; i < 3; i++) { // a few tries: the probe must be the task on the CPU at the pause
            sb.pause();
            var state = dev.sandbox.engine.vmm.snapshot.SnapshotCodec.decode(
                    dev.sandbox.engine.vmm.snapshot.SnapshotFile.read(data.resolve(ID).resolve("vmstate"), 16 << 20));
            var vcpu = state.vcpus().getFirst();
            assertTrue(vcpu.msrs().stream().anyMatch(m -> m.index() == 0x2ff && m.data() != 0),
                    "MTRR_DEF_TYPE saved and enabled");
            assertTrue(vcpu.msrs().stream().anyMatch(m -> m.index() == 0x200), "variable MTRRs saved");
            assertFalse(vcpu.cpuid().isEmpty());
            assertTrue(vcpu.tscKhz() > 0);
            sb.resume();
            Thread.sleep(1500);
            String out = waitFor("", 30);
            assertTrue(out.startsWith("ok"), "after resume " + i + ": " + out);
        }
        sb.exec(ExecRequest.shell("pkill mxcsr-probe"));
    }

    /** The probe's report once it starts with {@code prefix} and has changed since the last call. */
    private String waitFor(String prefix, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        String out = "";
        while (System.nanoTime() < deadline) {
            out = sb.exec(ExecRequest.shell("cat /tmp/mxcsr.out 2>/dev/null")).stdoutText().trim();
            if (out.startsWith("lost") || (!out.isEmpty() && out.startsWith(prefix))) {
                return out;
            }
            Thread.sleep(200);
        }
        return out;
    }

    /**
     * A pause whose snapshot cannot be written (a data dir on a small tmpfs, filled up) fails with a clear error and
     * leaves the sandbox running with its files, and nothing half-written behind; with room again it pauses. Both
     * the first pause (a whole memory base) and a later one (a delta on top of it) are tried.
     */
    @Test
    @Order(6)
    void aPauseThatCannotBeWrittenLeavesTheSandboxRunning() throws IOException, InterruptedException {
        Path small = Files.createTempDirectory("sandbox-small-disk");
        mount("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", small.toString());
        try (Engine tight = Engine.open(new EngineConfig(small, EngineConfig.guestDirFromSystemProperty(), 2, 128,
                1024, Duration.ofSeconds(120)).withTemplates(false));
             Sandbox victim = tight.create(new SandboxSpec("kvm-full", "minimal", 1, 128))) {
            victim.writeFile("/root/keep", new ByteArrayInputStream("kept".getBytes(StandardCharsets.UTF_8)), 0644);
            Path filler = small.resolve("filler");
            fill(small, filler, 1 << 20);
            long connects = victim.channelCounters().get("connects"); // the boot's tries until the agent listened
            EngineException e = assertThrows(EngineException.class, victim::pause);
            System.out.println("first pause on a full disk: " + e.getMessage());
            assertTrue(e.getMessage().contains("goes on running"), e.getMessage());
            assertEquals(Sandbox.State.RUNNING, victim.state());
            assertEquals("kept", victim.exec(ExecRequest.shell("cat /root/keep")).stdoutText());
            assertEquals(1L, victim.channelCounters().get("reattached"), "the VM runs on with its connection taken"
                    + " up again: " + victim.channelCounters());
            assertEquals(connects, victim.channelCounters().get("connects"), "no new connection");
            assertFalse(Files.exists(small.resolve("kvm-full")), "nothing half-written is left");

            Files.delete(filler);
            victim.pause();
            victim.resume();
            assertEquals("kept", victim.exec(ExecRequest.shell("cat /root/keep")).stdoutText());
            List<String> before;
            try (var files = Files.list(small.resolve("kvm-full"))) {
                before = files.map(f -> f.getFileName().toString()).sorted().toList();
            }
            // dirty enough guest memory that the delta cannot fit in what is left
            victim.exec(ExecRequest.shell("dd if=/dev/urandom of=/root/big bs=1M count=8 2>/dev/null"));
            fill(small, filler, 64 << 10);
            e = assertThrows(EngineException.class, victim::pause);
            System.out.println("second pause on a full disk: " + e.getMessage());
            assertEquals(Sandbox.State.RUNNING, victim.state());
            assertEquals("kept", victim.exec(ExecRequest.shell("cat /root/keep")).stdoutText());
            try (var files = Files.list(small.resolve("kvm-full"))) {
                assertEquals(before, files.map(f -> f.getFileName().toString()).sorted().toList(),
                        "the previous snapshot's files stay, and no new delta is left");
            }
            Files.delete(filler);
            victim.pause();
            victim.resume();
            assertEquals("8388608", victim.exec(ExecRequest.shell("wc -c < /root/big")).stdoutText().trim());
        } finally {
            mount("umount", "-l", small.toString());
        }
    }

    /**
     * A snapshot whose vCPU ran with another CPU (one CPUID leaf changed, as if taken on a different host) is refused
     * at resume with the leaf named, and the sandbox stays paused; with its own snapshot back it resumes.
     */
    @Test
    @Order(7)
    void aSnapshotFromAnotherCpuIsRefused() throws IOException {
        sb.pause();
        Path state = data.resolve(ID).resolve("vmstate");
        byte[] original = Files.readAllBytes(state);
        var snapshot = dev.sandbox.engine.vmm.snapshot.SnapshotCodec.decode(
                dev.sandbox.engine.vmm.snapshot.SnapshotFile.read(state, 16 << 20));
        var vcpu = snapshot.vcpus().getFirst();
        List<dev.sandbox.engine.vmm.arch.CpuidEntry> cpuid = new ArrayList<>(vcpu.cpuid());
        var leaf = cpuid.getFirst();
        cpuid.set(0, leaf.withRegisters(leaf.eax(), leaf.ebx() ^ 1, leaf.ecx(), leaf.edx()));
        var foreign = new dev.sandbox.engine.vmm.vstate.VcpuSnapshot(vcpu.id(), cpuid, vcpu.tscKhz(), vcpu.mpState(),
                vcpu.regs(), vcpu.sregs(), vcpu.fpu(), vcpu.xsave(), vcpu.xcrs(), vcpu.debugRegs(), vcpu.lapic(),
                vcpu.msrs(), vcpu.events());
        var changed = new dev.sandbox.engine.vmm.snapshot.MicrovmSnapshot(snapshot.memoryBytes(), snapshot.memory(),
                snapshot.vm(), List.of(foreign), snapshot.serial(), snapshot.transports(), snapshot.consoleTail(), snapshot.disk(),
                snapshot.vsock(), snapshot.agent());
        dev.sandbox.engine.vmm.snapshot.SnapshotFile.write(state,
                dev.sandbox.engine.vmm.snapshot.SnapshotCodec.encode(changed));
        EngineException e = assertThrows(EngineException.class, sb::resume);
        assertTrue(e.getMessage().contains("cannot give it"), e.getMessage());
        assertEquals(Sandbox.State.PAUSED, sb.state());
        Files.write(state, original);
        sb.resume();
        assertEquals("ok\n", sb.exec(ExecRequest.shell("echo ok")).stdoutText());
    }

    /** Writes {@code filler} until the file system at {@code dir} has about {@code leave} bytes free. */
    /**
     * The agent's connection came back with the snapshot: no transport reset, no new connection, the kept one taken
     * up (the device's counters, which start at zero in every VM life).
     */
    private void assertKeptConnection(String when) {
        java.util.Map<String, Long> c = sb.channelCounters();
        assertEquals(0L, c.get("transport_resets"), when + ": " + c);
        assertEquals(0L, c.get("connects"), when + ": " + c);
        assertEquals(1L, c.get("reattached"), when + ": " + c);
        assertEquals(1L, c.get("restored"), when + ": " + c);
    }

    /** A pause does not wait for a long call, and the call does not hang: it fails at once with a clear error. */
    @Test
    @Order(8)
    void aCallInFlightWhenAPauseStartsFailsClearlyAndIsCancelled() throws Exception {
        assertEquals(Sandbox.State.RUNNING, sb.state());
        java.util.concurrent.CompletableFuture<ExecResult> running = java.util.concurrent.CompletableFuture
                .supplyAsync(() -> sb.exec(ExecRequest.shell("sleep 27; echo finished")));
        Thread.sleep(1500); // the command runs
        sb.pause();
        var e = assertThrows(java.util.concurrent.ExecutionException.class,
                () -> running.get(30, java.util.concurrent.TimeUnit.SECONDS));
        var cause = org.junit.jupiter.api.Assertions.assertInstanceOf(AgentException.class, e.getCause());
        assertEquals(AgentException.Kind.CLOSED, cause.kind());
        assertTrue(cause.getMessage().contains("paused"), cause.getMessage());
        sb.resume();
        assertKeptConnection("after a pause that cancelled a call");
        for (int i = 0; i < 3; i++) {
            assertEquals(i + "\n", sb.exec(ExecRequest.of("echo", Integer.toString(i))).stdoutText());
        }
        assertEquals("", sb.exec(ExecRequest.shell("ps | grep 'sleep 2[7]' || true")).stdoutText(),
                "the cancelled command was killed in the guest");
    }

    private static void fill(Path dir, Path filler, long leave) throws IOException {
        long free = Files.getFileStore(dir).getUsableSpace();
        byte[] chunk = new byte[1 << 20];
        try (var out = Files.newOutputStream(filler)) {
            for (long left = free - leave; left > 0; left -= chunk.length) {
                out.write(chunk, 0, (int) Math.min(chunk.length, left));
            }
        }
    }

    private static void mount(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", command) + ": " + out);
    }
}
