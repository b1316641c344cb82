package dev.sandbox.engine.vmm.devices.virtio.net;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * {@code struct virtio_net_hdr_v1} (virtio 1.2, 5.1.6), the 12 bytes in front of every frame both ways:
 * {@code u8 flags; u8 gso_type; le16 hdr_len, gso_size, csum_start, csum_offset, num_buffers}. The same layout is
 * checked against C in the ffi module ({@code TapAbi.virtio_net_hdr_v1}).
 */
public record NetHeader(int flags, int gsoType, int hdrLen, int gsoSize, int csumStart, int csumOffset,
                        int numBuffers) {
    public static final int SIZE = 12;
    public static final int F_NEEDS_CSUM = 1;
    public static final int F_DATA_VALID = 2;
    public static final int GSO_NONE = 0;

    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A header that asks for nothing: what either side sends while no offload is negotiated. */
    public static NetHeader plain(int numBuffers) {
        return new NetHeader(0, GSO_NONE, 0, 0, 0, 0, numBuffers);
    }

    public static NetHeader read(MemorySegment packet) {
        return new NetHeader(Byte.toUnsignedInt(packet.get(ValueLayout.JAVA_BYTE, 0)),
                Byte.toUnsignedInt(packet.get(ValueLayout.JAVA_BYTE, 1)), u16(packet, 2), u16(packet, 4),
                u16(packet, 6), u16(packet, 8), u16(packet, 10));
    }

    public void write(MemorySegment packet) {
        packet.set(ValueLayout.JAVA_BYTE, 0, (byte) flags);
        packet.set(ValueLayout.JAVA_BYTE, 1, (byte) gsoType);
        packet.set(LE16, 2, (short) hdrLen);
        packet.set(LE16, 4, (short) gsoSize);
        packet.set(LE16, 6, (short) csumStart);
        packet.set(LE16, 8, (short) csumOffset);
        packet.set(LE16, 10, (short) numBuffers);
    }

    /** Whether the packet relies on an offload (a partial checksum or segmentation) the other side must finish. */
    public boolean needsOffload() {
        return (flags & F_NEEDS_CSUM) != 0 || gsoType != GSO_NONE;
    }

    private static int u16(MemorySegment packet, long offset) {
        return Short.toUnsignedInt(packet.get(LE16, offset));
    }
}
