package dev.sandbox.engine.vmm.devices.virtio;

/** The driver broke a virtqueue rule; the device must stop using the queue and ask for a reset. */
public final class VirtqueueException extends RuntimeException {
    public VirtqueueException(String message) {
        super(message);
    }
}
