package dev.sandbox.engine;

import dev.sandbox.engine.agent.ExecRequest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Creates from a template snapshot: the first create of a template boots and snapshots it, later ones restore it
 * copy-on-write. Clones have their own hostname, data, RNG state and clock. Timings and memory are printed.
 */
@Tag("kvm")
class KvmTemplateTest {
    static final int CLONES = 4;

    @Test
    void clonesAreFastSeparateAndShareMemory(@TempDir Path data) throws IOException {
        EngineConfig config = new EngineConfig(data, EngineConfig.guestDirFromSystemProperty(), 2, 128, 1024,
                Duration.ofSeconds(120));
        long cold;
        try (Engine engine = Engine.open(config.withTemplates(false))) {
            long t0 = System.nanoTime();
            engine.create(new SandboxSpec("kvm-cold", "minimal", 1, 128)).close();
            cold = (System.nanoTime() - t0) / 1_000_000;
        }
        try (Engine engine = Engine.open(config)) {
            List<Sandbox> clones = new ArrayList<>();
            List<Long> times = new ArrayList<>();
            for (int i = 1; i <= CLONES; i++) {
                long t0 = System.nanoTime();
                clones.add(engine.create(new SandboxSpec("kvm-clone-" + i, "minimal", 1, 128)));
                times.add((System.nanoTime() - t0) / 1_000_000);
            }
            System.out.printf("create: cold boot %d ms; from the template: first (boot + snapshot + restore) %d ms,"
                    + " then %s ms%n", cold, times.getFirst(), times.subList(1, times.size()));
            Set<String> random = new HashSet<>();
            for (Sandbox sb : clones) {
                java.util.Map<String, Long> counters = sb.channelCounters();
                assertEquals(0L, counters.get("transport_resets"), sb.id() + " took its template's connection up: "
                        + counters);
                assertEquals(0L, counters.get("connects"), sb.id() + ": " + counters);
                assertEquals(1L, counters.get("reattached"), sb.id() + ": " + counters);
                assertEquals(sb.id() + "\n", sb.exec(ExecRequest.of("hostname")).stdoutText());
                sb.writeFile("/root/mine", new ByteArrayInputStream(sb.id().getBytes(StandardCharsets.UTF_8)), 0644);
                random.add(sb.exec(ExecRequest.shell("head -c 16 /dev/urandom | od -An -tx1")).stdoutText());
                long guestNow = Long.parseLong(sb.exec(ExecRequest.of("date", "+%s")).stdoutText().trim());
                assertTrue(Math.abs(guestNow - System.currentTimeMillis() / 1000) <= 3, sb.id() + " clock");
            }
            for (Sandbox sb : clones) {
                ByteArrayOutputStream mine = new ByteArrayOutputStream();
                sb.readFile("/root/mine", mine, 1024);
                assertEquals(sb.id(), mine.toString(StandardCharsets.UTF_8), "each clone sees only its own file");
            }
            assertEquals(CLONES, random.size(), "every clone's RNG gives different bytes: " + random);
            printSharing();
            for (Sandbox sb : clones) {
                sb.close();
            }
        }
    }

    /** RSS and PSS of the clones' RAM mappings (the template's memory file, mapped privately by each). */
    private static void printSharing() {
        HostMemory.Usage ram = HostMemory.mappings(HostMemory.TEMPLATE_RAM);
        System.out.printf("%d clones of one template, RAM mappings: RSS %d MiB, PSS %d MiB%n", CLONES, ram.rssMb(),
                ram.pssMb());
    }
}
