package dev.sandbox.engine.vmm.devices.virtio;

/** Device-independent feature bits (virtio 1.2, section 6). */
public final class VirtioFeatures {
    /** Indirect descriptors: not offered, so a chain using them is a driver error. */
    public static final long RING_INDIRECT_DESC = 1L << 28;
    public static final long RING_EVENT_IDX = 1L << 29;
    /** Modern (non-legacy) device; required by the MMIO version 2 transport. */
    public static final long VERSION_1 = 1L << 32;

    private VirtioFeatures() {
    }
}
