package dev.sandbox.engine;

import dev.sandbox.engine.agent.ExecRequest;
import dev.sandbox.engine.vmm.KvmEngine;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The warm pool on real microVMs: a create of a pooled shape gets a clone restored ahead of time. */
@Tag("kvm")
class KvmPoolTest {
    private static final PoolShape SHAPE = new PoolShape("minimal", 1, 128, null);

    @Test
    void aPooledCreateIsAFullSandboxAndThePoolRefills(@TempDir Path data) throws Exception {
        EngineConfig config = new EngineConfig(data, EngineConfig.guestDirFromSystemProperty(), 2, 128, 1024,
                Duration.ofSeconds(120));
        try (Engine engine = Engine.open(config)) {
            KvmEngine kvm = (KvmEngine) engine;
            long t0 = System.nanoTime();
            engine.create(new SandboxSpec("unpooled", "minimal", 1, 128)).close(); // makes the template
            long missStart = System.nanoTime();
            engine.create(new SandboxSpec("unpooled-2", "minimal", 1, 128)).close();
            long miss = (System.nanoTime() - missStart) / 1_000_000;

            engine.configurePool(SHAPE, 2, Duration.ofMinutes(10));
            assertTrue(kvm.awaitPoolFull(Duration.ofMinutes(3)), "the pool fills: " + engine.pooled());
            assertEquals(Map.of(SHAPE, 2), engine.pooled());

            long hitStart = System.nanoTime();
            Sandbox a = engine.create(new SandboxSpec("pooled-a", "minimal", 1, 128));
            long hit = (System.nanoTime() - hitStart) / 1_000_000;
            Sandbox b = engine.create(new SandboxSpec("pooled-b", "minimal", 1, 128));
            System.out.printf("create from the template: pool off %d ms, pool on %d ms (first template %d ms)%n",
                    miss, hit, (missStart - t0) / 1_000_000);

            for (Sandbox sb : new Sandbox[] {a, b}) {
                assertEquals(sb.id() + "\n", sb.exec(ExecRequest.of("hostname")).stdoutText(), "its own hostname");
                long guestNow = Long.parseLong(sb.exec(ExecRequest.of("date", "+%s")).stdoutText().trim());
                assertTrue(Math.abs(guestNow - System.currentTimeMillis() / 1000) <= 3, sb.id() + " clock set");
                assertEquals(0L, sb.channelCounters().get("connects"), sb.channelCounters().toString());
                assertEquals(0L, sb.channelCounters().get("transport_resets"), sb.channelCounters().toString());
            }
            assertNotEquals(a.exec(ExecRequest.shell("head -c 16 /dev/urandom | od -An -tx1")).stdoutText(),
                    b.exec(ExecRequest.shell("head -c 16 /dev/urandom | od -An -tx1")).stdoutText(),
                    "pooled clones do not share randomness");

            a.writeFile("/root/kept", new java.io.ByteArrayInputStream(new byte[] {'k'}), 0644);
            a.pause();
            assertTrue(Files.isRegularFile(data.resolve("pooled-a").resolve("vmstate")), "paused under its own id");
            a.resume();
            assertEquals("k", a.exec(ExecRequest.shell("cat /root/kept")).stdoutText());

            assertTrue(kvm.awaitPoolFull(Duration.ofMinutes(3)), "refilled after two takes");
            a.close();
            b.close();
            engine.configurePool(SHAPE, 0, Duration.ofMinutes(10));
            assertEquals(0, poolThreads(), "clones released when the pool shrinks");
        }
        assertEquals(0, poolThreads(), "nothing of the pool is left after close");
        try (Stream<Path> left = Files.list(data)) {
            assertEquals(java.util.List.of(".templates"), left.map(p -> p.getFileName().toString())
                    .filter(n -> !n.equals(".images")).sorted().toList(), "no folder of a pooled clone is left");
        }
    }

    /** vCPU and device threads of pool clones (named after the pool's name for them). */
    private static long poolThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("pool-")).count();
    }
}
