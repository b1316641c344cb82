package dev.sandbox.engine;

import java.util.Objects;

/**
 * What to create.
 *
 * @param id       the caller's name for it (the server uses {@code sb-<hex>}); also the guest's hostname
 * @param template a template the engine lists ({@link Engine#templates()}): {@code minimal} (an initramfs) or a disk
 *                 template such as {@code python}
 * @param vcpus    1..{@link EngineConfig#maxVcpus()}
 * @param memoryMb {@link EngineConfig#minMemoryMb()}..{@link EngineConfig#maxMemoryMb()}
 * @param network  its network and egress policy, or null for none (the guest's NIC stays unplugged)
 * @param diskMb   a disk template's root disk size in MiB, at least the template image's; 0: the image's own size.
 *                 Must be 0 for an initramfs template
 */
public record SandboxSpec(String id, String template, int vcpus, int memoryMb, NetworkSpec network, int diskMb) {
    /** Bound for {@link #diskMb()}: the disk is sparse, only what the guest writes takes host space. */
    public static final int MAX_DISK_MB = 64 * 1024;

    public SandboxSpec {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(template, "template");
        if (diskMb < 0) {
            throw new IllegalArgumentException("diskMb must not be negative: " + diskMb);
        }
    }

    /** A sandbox with the template's own disk size. */
    public SandboxSpec(String id, String template, int vcpus, int memoryMb, NetworkSpec network) {
        this(id, template, vcpus, memoryMb, network, 0);
    }

    /** A sandbox without a network. */
    public SandboxSpec(String id, String template, int vcpus, int memoryMb) {
        this(id, template, vcpus, memoryMb, null, 0);
    }

    public SandboxSpec withNetwork(NetworkSpec network) {
        return new SandboxSpec(id, template, vcpus, memoryMb, network, diskMb);
    }

    public SandboxSpec withDiskMb(int diskMb) {
        return new SandboxSpec(id, template, vcpus, memoryMb, network, diskMb);
    }
}
