package dev.sandbox.engine;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Clones and cold-booted VMs under sustained traffic: each sandbox moves {@link #ROUND_TRIPS} files of 1 MiB in and
 * back out (checked byte for byte), runs an exec every 8 round trips and is paused and resumed halfway. Two clones
 * run at once, as users' sandboxes do. {@code -Dsandbox.soak.roundTrips=N} changes the length.
 */
@Tag("kvm")
class KvmSoakTest {
    static final int ROUND_TRIPS = Integer.getInteger("sandbox.soak.roundTrips", 512);

    @Test
    void twoClonesAtOnce(@TempDir Path data) {
        try (Engine engine = Engine.open(config(data))) {
            engine.create(new SandboxSpec("soak-template", "minimal", 1, 256)).close(); // makes the template
            try (Sandbox a = engine.create(new SandboxSpec("soak-clone-a", "minimal", 1, 256));
                 Sandbox b = engine.create(new SandboxSpec("soak-clone-b", "minimal", 1, 256))) {
                List<Soak.Result> results = List.of(a, b).stream()
                        .map(sb -> CompletableFuture.supplyAsync(() -> Soak.run(sb, ROUND_TRIPS, true),
                                r -> Thread.ofPlatform().start(r)))
                        .toList().stream().map(CompletableFuture::join).toList();
                results.forEach(r -> System.out.println("soak " + r));
                results.forEach(r -> assertTrue(r.passed(), r.toString()));
            }
        }
    }

    @Test
    void aColdBootedVm(@TempDir Path data) {
        try (Engine engine = Engine.open(config(data).withTemplates(false));
             Sandbox sb = engine.create(new SandboxSpec("soak-cold", "minimal", 1, 256))) {
            Soak.Result r = Soak.run(sb, ROUND_TRIPS, true);
            System.out.println("soak " + r);
            assertTrue(r.passed(), r.toString());
        }
    }

    private static EngineConfig config(Path data) {
        return new EngineConfig(data, EngineConfig.guestDirFromSystemProperty(), 2, 128, 1024, Duration.ofSeconds(120));
    }
}
