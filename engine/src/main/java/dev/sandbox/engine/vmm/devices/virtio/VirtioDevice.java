package dev.sandbox.engine.vmm.devices.virtio;

import dev.sandbox.engine.vmm.memory.GuestMemory;

import java.util.List;

/**
 * A virtio device model behind a transport. The transport handles feature negotiation, queue setup and status; the
 * device sees the result through {@link #activate} and works its queues until {@link #reset}. Methods are called from
 * vCPU threads and must not throw for anything the guest does.
 */
public interface VirtioDevice {
    /** Virtio device id (section 5): 4 entropy, 19 socket. */
    int deviceType();

    /** Feature bits offered to the driver. */
    long features();

    /** Maximum size of each queue, one element per queue. */
    List<Integer> queueMaxSizes();

    /** Reads device configuration space at {@code offset}; bytes outside it read as zero. */
    void readConfig(long offset, byte[] data);

    void writeConfig(long offset, byte[] data);

    /** The driver set DRIVER_OK: every queue is ready and validated against {@code memory}. */
    void activate(GuestMemory memory, List<Queue> queues, long ackedFeatures, VirtioInterrupt interrupt);

    /** The driver notified queue {@code index} of new available buffers. */
    void queueNotify(int index);

    /** Drops all activation state; the queues themselves are reset by the transport. */
    void reset();
}
