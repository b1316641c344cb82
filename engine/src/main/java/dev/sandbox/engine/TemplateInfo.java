package dev.sandbox.engine;

import java.time.Instant;
import java.util.Objects;

/**
 * A template sandboxes are created from.
 *
 * @param name       what {@link SandboxSpec#template()} names
 * @param kind       an initramfs ({@code minimal}) or a root disk image
 * @param status     a custom template is BUILDING until its image is made, then READY or FAILED
 * @param builtIn    made by {@code tools/setup} into the guest folder (never deleted through the engine)
 * @param sizeBytes  the image's apparent size (a disk template's default disk size); 0 while building
 * @param createdAt  when the image was made, or the build started while it is building
 * @param base       the template a custom one was built from; null for built-in ones
 * @param message    a failed build's reason and the tail of its log; null otherwise
 */
public record TemplateInfo(String name, Kind kind, Status status, boolean builtIn, long sizeBytes, Instant createdAt,
                           String base, String message) {
    public enum Kind { INITRAMFS, DISK }

    public enum Status { BUILDING, READY, FAILED }

    public TemplateInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(createdAt, "createdAt");
    }
}
