package dev.sandbox.engine.vmm.devices.virtio.vsock;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * {@code struct virtio_vsock_hdr}, 44 bytes, packed, little-endian:
 * <pre>
 * le64 src_cid; le64 dst_cid; le32 src_port; le32 dst_port; le32 len; le16 type; le16 op; le32 flags;
 * le32 buf_alloc; le32 fwd_cnt;
 * </pre>
 * Ports, length and counters are unsigned 32-bit values held in ints.
 */
public record VsockHeader(long srcCid, long dstCid, int srcPort, int dstPort, int len, int type, int op, int flags,
                          int bufAlloc, int fwdCnt) {
    public static final int SIZE = 44;
    public static final int TYPE_STREAM = 1;

    public static final int OP_REQUEST = 1;
    public static final int OP_RESPONSE = 2;
    public static final int OP_RST = 3;
    public static final int OP_SHUTDOWN = 4;
    public static final int OP_RW = 5;
    public static final int OP_CREDIT_UPDATE = 6;
    public static final int OP_CREDIT_REQUEST = 7;

    /** SHUTDOWN flags: the sender will receive, respectively send, no more data. */
    public static final int SHUTDOWN_RCV = 1;
    public static final int SHUTDOWN_SEND = 2;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public static VsockHeader decode(byte[] bytes) {
        if (bytes.length < SIZE) {
            throw new IllegalArgumentException("vsock header needs " + SIZE + " bytes");
        }
        MemorySegment s = MemorySegment.ofArray(bytes);
        return new VsockHeader(s.get(U64, 0), s.get(U64, 8), s.get(U32, 16), s.get(U32, 20), s.get(U32, 24),
                Short.toUnsignedInt(s.get(U16, 28)), Short.toUnsignedInt(s.get(U16, 30)), s.get(U32, 32),
                s.get(U32, 36), s.get(U32, 40));
    }

    public byte[] encode() {
        byte[] bytes = new byte[SIZE];
        MemorySegment s = MemorySegment.ofArray(bytes);
        s.set(U64, 0, srcCid);
        s.set(U64, 8, dstCid);
        s.set(U32, 16, srcPort);
        s.set(U32, 20, dstPort);
        s.set(U32, 24, len);
        s.set(U16, 28, (short) type);
        s.set(U16, 30, (short) op);
        s.set(U32, 32, flags);
        s.set(U32, 36, bufAlloc);
        s.set(U32, 40, fwdCnt);
        return bytes;
    }
}
