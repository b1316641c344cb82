package dev.sandbox.engine.vmm.arch;

/** A kernel image that is malformed or does not fit the guest. */
public final class KernelImageException extends Exception {
    public KernelImageException(String message) {
        super(message);
    }
}
