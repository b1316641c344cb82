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
 * run at once, as users' sandboxes do; a cold-booted VM (no template) gets a quarter of that, since clones are what
 * users get and what the soak is for. {@code -Dsandbox.soak.roundTrips=N} changes the length.
 */
@Tag("kvm")
@Tag("own-part") // tools/lib/kvm-suite runs it alone (the longest class by far), not with the module's other KVM classes
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
            Soak.Result r = Soak.run(sb, Math.max(2, ROUND_TRIPS / 4), true);
            System.out.println("soak " + r);
            assertTrue(r.passed(), r.toString());
        }
    }

    private static EngineConfig config(Path data) {
        return new EngineConfig(data, EngineConfig.guestDirFromSystemProperty(), 2, 128, 1024, Duration.ofSeconds(120));
    }
}
