package dev.sandbox.engine.vmm.devices.virtio.net;

/** virtio-net feature bits (virtio 1.2, 5.1.3); the device offers only MAC and STATUS beside VERSION_1 for now. */
public final class NetFeatures {
    /** The driver takes packets with a partial checksum (not offered yet). */
    public static final long CSUM = 1L << 0;
    /** The driver accepts packets with a partial checksum (not offered yet). */
    public static final long GUEST_CSUM = 1L << 1;
    /** The device has a MAC address in its configuration space. */
    public static final long MAC = 1L << 5;
    /** The driver can merge receive buffers (not offered yet, so every packet must fit one chain). */
    public static final long MRG_RXBUF = 1L << 15;
    /** The configuration space has a link status. */
    public static final long STATUS = 1L << 16;

    private NetFeatures() {
    }
}
