package dev.sandbox.engine.templates;

import java.nio.file.Path;
import java.util.Objects;

/** What the VMM boots for a template: the initramfs it loads into RAM, or the root image of its virtio-blk disk. */
public sealed interface TemplateSource {

    /** A {@code <name>.cpio.gz} in the guest folder (may be a symlink into a cache). */
    record Initramfs(Path file) implements TemplateSource {
        public Initramfs {
            Objects.requireNonNull(file, "file");
        }
    }

    /**
     * An ext4 root image, read-only for the VMM (each sandbox writes to an overlay of its own).
     *
     * @param sizeBytes the image's apparent size: a sandbox's disk is at least this big
     */
    record Disk(Path image, long sizeBytes) implements TemplateSource {
        public Disk {
            Objects.requireNonNull(image, "image");
            if (sizeBytes < 0) {
                throw new IllegalArgumentException("sizeBytes must not be negative: " + sizeBytes);
            }
        }
    }
}
