package dev.sandbox.engine.vmm.devices.virtio.blk;

/** virtio-blk feature bits (virtio 1.2, 5.2.3) that the device offers beside VERSION_1. */
public final class BlkFeatures {
    /** {@code seg_max} in the configuration space bounds the data buffers of one request. */
    public static final long SEG_MAX = 1L << 2;
    /** {@code blk_size} in the configuration space is the disk's optimal block size. */
    public static final long BLK_SIZE = 1L << 6;
    /** The device takes FLUSH requests; without it the driver expects every write durable on completion. */
    public static final long FLUSH = 1L << 9;

    private BlkFeatures() {
    }
}
