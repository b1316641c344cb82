package dev.sandbox.jmh;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.Sandbox;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.engine.agent.ExecRequest;
import dev.sandbox.engine.agent.ExecResult;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the KVM benchmarks share: an engine over one data folder that outlives the JMH forks and runs
 * ({@code java.io.tmpdir/sandbox-jmh}), so a template snapshot (keyed by size and guest image) is built once, by
 * the first create that needs it, and not once per benchmark method. Sandbox ids carry the fork's pid.
 * The guest comes from {@code -Dsandbox.guest.dir} (tools/bench-kvm sets it); forks inherit it.
 */
final class KvmBench {

    private static final AtomicInteger IDS = new AtomicInteger();

    private KvmBench() {
    }

    static Engine open(boolean templates) {
        try {
            Path data = Path.of(System.getProperty("java.io.tmpdir"), "sandbox-jmh");
            Files.createDirectories(data);
            EngineConfig config = new EngineConfig(data, EngineConfig.guestDirFromSystemProperty(), 2, 128, 3072,
                    Duration.ofSeconds(180));
            return Engine.open(config.withTemplates(templates));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Sandbox create(Engine engine, int memoryMb) {
        return create(engine, "minimal", memoryMb);
    }

    static Sandbox create(Engine engine, String template, int memoryMb) {
        return engine.create(new SandboxSpec("jmh-" + ProcessHandle.current().pid() + "-" + IDS.incrementAndGet(),
                template, 1, memoryMb));
    }

    /** Writes {@code mb} MiB of random bytes to guest tmpfs: that much guest RAM is dirty afterwards. */
    static void dirty(Sandbox sb, int mb) {
        if (mb > 0) {
            check(sb.exec(ExecRequest.shell(dirtyCommand(mb)).withTimeout(Duration.ofMinutes(5))));
        }
    }

    /** The shell command {@link #dirty} runs (SnapshotCompare runs it in QEMU's guest too). */
    static String dirtyCommand(int mb) {
        return "head -c " + mb + "m /dev/urandom > /dev/shm/dirty";
    }

    static ExecResult check(ExecResult r) {
        if (r.exitCode() != 0) {
            throw new IllegalStateException("exec failed with " + r.exitCode() + ": " + r.stderrText());
        }
        return r;
    }
}
