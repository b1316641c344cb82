package dev.sandbox.engine.vmm.snapshot;

/** Why a snapshot file or the state inside it was refused; the message says exactly what is wrong. */
public final class SnapshotFormatException extends RuntimeException {
    public SnapshotFormatException(String message) {
        super(message);
    }
}
