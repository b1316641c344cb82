package dev.sandbox.engine.vmm.devices.virtio.blk;

import java.nio.file.Path;

/**
 * A disk's files do not match the state they were saved with, or are damaged or missing; the message names the file
 * and says what is wrong. Unchecked, like {@code SnapshotFormatException}: the snapshot it belongs to is unusable.
 */
public final class DiskStateException extends RuntimeException {
    public DiskStateException(String message) {
        super(message);
    }

    public DiskStateException(String message, Throwable cause) {
        super(message, cause);
    }

    static DiskStateException damaged(Path layer, String why) {
        return new DiskStateException("the disk overlay " + layer + " is damaged: " + why);
    }

    static DiskStateException missing(String what, Path file) {
        return new DiskStateException("the " + what + " " + file + " is missing");
    }
}
