package dev.sandbox.engine.vmm.devices.virtio;

/** What an active device tells its transport; implementations are thread-safe. */
public interface VirtioInterrupt {
    /** The device put buffers in a used ring. */
    void usedBuffers();

    /** The device's configuration space changed. */
    void configChanged();

    /** The device hit an error it cannot recover from (usually a driver violation) and needs a reset. */
    void needsReset(String reason);
}
