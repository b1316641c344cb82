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
}
