package dev.sandbox.engine.vmm;

import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.engine.templates.TemplateSource;
import dev.sandbox.engine.vmm.devices.virtio.blk.DiskState;
import dev.sandbox.engine.vmm.devices.virtio.blk.OverlayDisk;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A disk template's root disks: the template image as the read-only base, the template's own overlay (what its boot
 * wrote) under each clone, and each sandbox's top overlay, {@value #TOP}, in its snapshot folder.
 */
final class RootDisks {
    static final String TOP = "disk";

    private RootDisks() {
    }

    /**
     * The disk size {@code spec} gets: the image's own, or {@link SandboxSpec#diskMb()} when larger (the agent grows
     * the file system at boot); 0 for an initramfs template, which takes no disk size.
     */
    static long capacity(SandboxSpec spec, TemplateSource source) {
        return switch (source) {
            case TemplateSource.Initramfs i -> {
                if (spec.diskMb() != 0) {
                    throw new EngineException(EngineException.Kind.INVALID_SPEC, "template " + spec.template()
                            + " runs from memory and has no disk: diskMb must not be set");
                }
                yield 0;
            }
            case TemplateSource.Disk d -> {
                long image = (d.sizeBytes() + (1 << 20) - 1) & -(1L << 20);
                long asked = (long) spec.diskMb() << 20;
                if (asked != 0 && asked < image) {
                    throw new EngineException(EngineException.Kind.INVALID_SPEC, "diskMb must be at least "
                            + (image >> 20) + " for template " + spec.template() + " (its image), not "
                            + spec.diskMb());
                }
                yield Math.max(asked, image);
            }
        };
    }

    /** A new, empty top overlay in {@code dir} over {@code image}. */
    static OverlayDisk create(TemplateSource.Disk image, Path dir, long capacity) {
        try {
            Files.createDirectories(dir);
            return OverlayDisk.create(image.image(), List.of(), dir.resolve(TOP), capacity);
        } catch (IOException e) {
            throw new EngineException(EngineException.Kind.VM_FAILED, "creating the root disk in " + dir
                    + " failed: " + e.getMessage(), e);
        }
    }

    /** A clone's disk: a new top overlay in {@code dir} over every layer of the template's. */
    static OverlayDisk clone(DiskState template, Path dir) {
        try {
            Files.createDirectories(dir);
            return OverlayDisk.createOver(template, dir.resolve(TOP));
        } catch (IOException e) {
            throw new EngineException(EngineException.Kind.VM_FAILED, "creating the root disk in " + dir
                    + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * After a failed create: removes the top overlay made in {@code dir} (and {@code dir} if that leaves it empty);
     * failures are added to {@code failure}.
     */
    static void removeQuietly(Path dir, Throwable failure) {
        try {
            Files.deleteIfExists(dir.resolve(TOP));
            Files.deleteIfExists(dir.resolve(TOP + ".map"));
            try (var left = Files.list(dir)) {
                if (left.findAny().isEmpty()) {
                    Files.deleteIfExists(dir);
                }
            }
        } catch (IOException | RuntimeException e) {
            failure.addSuppressed(e);
        }
    }
}
