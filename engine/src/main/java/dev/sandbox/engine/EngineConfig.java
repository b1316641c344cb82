package dev.sandbox.engine;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How an {@link Engine} runs sandboxes.
 *
 * @param dataDir      snapshots: one folder per paused sandbox, {@code .templates/} for template snapshots
 * @param guestDir     the built guest: {@code vmlinux}, {@code bzImage}, {@code <template>.cpio.gz}
 *                     ({@code tools/guest/build} prints it; tools pass it as {@code -Dsandbox.guest.dir})
 * @param maxVcpus     upper bound for {@link SandboxSpec#vcpus()} (at most the host's cores)
 * @param minMemoryMb  lower bound for {@link SandboxSpec#memoryMb()}
 * @param maxMemoryMb  upper bound for {@link SandboxSpec#memoryMb()}
 * @param bootTimeout  from create to the agent answering; past it the create fails with the console tail
 * @param templates    creates restore a snapshot of the template taken at agent-ready (booted once per template,
 *                     vCPU count and memory size) instead of booting; off: every create boots
 */
public record EngineConfig(Path dataDir, Path guestDir, int maxVcpus, int minMemoryMb, int maxMemoryMb,
                           Duration bootTimeout, boolean templates) {

    /** With template snapshots on. */
    public EngineConfig(Path dataDir, Path guestDir, int maxVcpus, int minMemoryMb, int maxMemoryMb,
                        Duration bootTimeout) {
        this(dataDir, guestDir, maxVcpus, minMemoryMb, maxMemoryMb, bootTimeout, true);
    }

    public EngineConfig withTemplates(boolean on) {
        return new EngineConfig(dataDir, guestDir, maxVcpus, minMemoryMb, maxMemoryMb, bootTimeout, on);
    }

    public EngineConfig {
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(guestDir, "guestDir");
        Objects.requireNonNull(bootTimeout, "bootTimeout");
        if (maxVcpus < 1 || minMemoryMb < 64 || maxMemoryMb < minMemoryMb) {
            throw new IllegalArgumentException("bad limits: maxVcpus=" + maxVcpus + " memory=" + minMemoryMb
                    + ".." + maxMemoryMb + " MiB");
        }
    }

    /**
     * Defaults: vCPUs up to the host's cores, 128 MiB..3 GiB (guest RAM ends below the 32-bit MMIO gap at 3.25 GiB;
     * there is no RAM above 4 GiB yet), 60 s to boot (the nested host is slow).
     */
    public static EngineConfig defaults(Path dataDir, Path guestDir) {
        return new EngineConfig(dataDir, guestDir, Runtime.getRuntime().availableProcessors(), 128, 3072,
                Duration.ofSeconds(60));
    }

    /** The guest folder from the {@code sandbox.guest.dir} system property, which the tools set. */
    public static Path guestDirFromSystemProperty() {
        String dir = System.getProperty("sandbox.guest.dir");
        if (dir == null || dir.isBlank()) {
            throw new EngineException(EngineException.Kind.CONFIG,
                    "sandbox.guest.dir is not set: run tools/guest/build and pass -Dsandbox.guest.dir=<its output>");
        }
        return Path.of(dir);
    }
}
