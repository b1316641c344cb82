package dev.sandbox.engine;

import dev.sandbox.engine.agent.ExecRequest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * For chasing failures under load by hand (inside tools/kvmhost): {@code parallel} sandboxes of one kind soaked at
 * once. Kinds: {@code cold} (booted), {@code cold-exec} (booted, one exec first), {@code cold-pause} (booted, paused
 * and resumed), {@code cold-pause-exec} (the same, then one exec), {@code clone} (template clone), {@code clone-exec}
 * (a clone, then one exec).
 * Arguments: kind parallel roundTrips [pauseHalfway]. Exit code 0 if every soak passed.
 */
public final class SoakMain {
    public static void main(String[] args) throws Exception {
        String kind = args[0];
        int parallel = Integer.parseInt(args[1]);
        int roundTrips = Integer.parseInt(args[2]);
        boolean pause = args.length > 3 && Boolean.parseBoolean(args[3]);
        Path data = Files.createTempDirectory("sandbox-soak");
        EngineConfig config = new EngineConfig(data, EngineConfig.guestDirFromSystemProperty(), 2, 128, 1024,
                Duration.ofSeconds(120)).withTemplates(kind.startsWith("clone"));
        boolean allPassed = true;
        try (Engine engine = Engine.open(config)) {
            if (kind.startsWith("clone")) {
                engine.create(new SandboxSpec("soak-first", "minimal", 1, 256)).close(); // makes the template
            }
            List<Sandbox> sandboxes = new ArrayList<>();
            for (int i = 0; i < parallel; i++) {
                Sandbox sb = engine.create(new SandboxSpec("soak-" + kind + "-" + i, "minimal", 1, 256));
                if (kind.startsWith("cold-pause")) {
                    sb.pause();
                    sb.resume();
                }
                if (kind.endsWith("-exec")) {
                    sb.exec(ExecRequest.of("hostname", sb.id()));
                }
                sandboxes.add(sb);
            }
            List<CompletableFuture<Soak.Result>> runs = sandboxes.stream().map(sb -> CompletableFuture.supplyAsync(
                    () -> Soak.run(sb, roundTrips, pause), r -> Thread.ofPlatform().start(r))).toList();
            for (CompletableFuture<Soak.Result> run : runs) {
                Soak.Result r = run.join();
                System.out.println("SOAK " + kind + " " + r);
                allPassed &= r.passed();
            }
            sandboxes.forEach(Sandbox::close);
        }
        System.out.println("SOAK " + kind + (allPassed ? " PASSED" : " FAILED"));
        System.exit(allPassed ? 0 : 1);
    }
}
