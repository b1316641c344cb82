package dev.sandbox.ffi.kvm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** The byte forms of the state records saved in snapshots: exact KVM layout, lossless, length-checked. */
class StateBytesTest {
    private static final Regs REGS = new Regs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
            0xffff_ffff_8100_0000L, 0x246);

    @Test
    void regsRoundTripInKvmLayout() {
        byte[] bytes = REGS.toBytes();
        assertEquals(KvmAbi.KVM_REGS.byteSize(), bytes.length);
        ByteBuffer le = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(REGS.rip(), le.getLong((int) Structs.offset(KvmAbi.KVM_REGS, "rip")));
        assertEquals(REGS.r8(), le.getLong((int) Structs.offset(KvmAbi.KVM_REGS, "r8")));
        assertEquals(REGS, Regs.fromBytes(bytes));
    }

    @Test
    void sregsRoundTripInKvmLayout() {
        long[] bitmap = {0x1L, 0x8000_0000_0000_0000L, 0xdead_beef_0000_0000L, 0x0123_4567_89ab_cdefL};
        Sregs sregs = new Sregs(
                new Segment(0, 0xffff_ffff, 0x08, 0xb, true, 0, false, true, true, true, false, false),
                new Segment(0x1000, 0xfffff, 0x10, 0x3, true, 0, true, true, false, true, false, false),
                new Segment(0x2000, 0xffff, 0x18, 0x3, true, 1, true, true, false, false, true, false),
                new Segment(0x7fff_0000_1000L, 0xffff_ffff, 0x20, 0x3, true, 3, true, true, false, true, false, false),
                new Segment(0xffff_8880_0000_0000L, 0xffff_ffff, 0x28, 0x3, true, 0, true, true, false, true, false, false),
                new Segment(0, 0xffff_ffff, 0x30, 0x3, true, 0, true, true, false, true, false, false),
                new Segment(0x5000, 0x67, 0x38, 0xb, true, 0, false, false, false, false, false, false),
                new Segment(0, 0, 0, 0, false, 0, false, false, false, false, false, true),
                new DTable(0x9000, 0x3f), new DTable(0xffff_ffff_ff57_9000L, 0xfff),
                0x8005_0033L, 0xdead_0000L, 0x0010_0000L, 0x0036_06e0L, 0xf, 0xd01, 0xfee0_0900L, bitmap);
        byte[] bytes = sregs.toBytes();
        assertEquals(KvmAbi.KVM_SREGS.byteSize(), bytes.length);
        ByteBuffer le = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x0010_0000L, le.getLong((int) Structs.offset(KvmAbi.KVM_SREGS, "cr3")));
        assertEquals(0xd01, le.getLong((int) Structs.offset(KvmAbi.KVM_SREGS, "efer")));
        assertEquals(0x38, le.getShort((int) Structs.offset(KvmAbi.KVM_SREGS, "tr", "selector")));

        Sregs back = Sregs.fromBytes(bytes);
        assertEquals(sregs, back);
        assertEquals(sregs.fs(), back.fs());
        assertEquals(sregs.ldt(), back.ldt());
        assertEquals(sregs.idt(), back.idt());
        assertEquals(sregs.apicBase(), back.apicBase());
        assertArrayEquals(bitmap, back.interruptBitmap());
        assertArrayEquals(bytes, back.toBytes());
    }

    @Test
    void fpuRoundTripInKvmLayout() {
        byte[] fpr = new byte[8 * 16];
        byte[] xmm = new byte[16 * 16];
        for (int i = 0; i < fpr.length; i++) {
            fpr[i] = (byte) (i * 7 + 1);
        }
        for (int i = 0; i < xmm.length; i++) {
            xmm[i] = (byte) (0xff - i);
        }
        Fpu fpu = new Fpu(fpr, 0x37f, 0x3800, 0xa5, 0x7ff, 0x4000_1234L, 0x7fff_0000_5678L, xmm, 0x1fa0);
        byte[] bytes = fpu.toBytes();
        assertEquals(KvmAbi.KVM_FPU.byteSize(), bytes.length);
        ByteBuffer le = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x1fa0, le.getInt((int) Structs.offset(KvmAbi.KVM_FPU, "mxcsr")));

        Fpu back = Fpu.fromBytes(bytes);
        assertEquals(fpu, back);
        assertArrayEquals(fpr, back.fpr());
        assertArrayEquals(xmm, back.xmm());
        assertEquals(0xa5, back.ftwx());
    }

    @Test
    void wrongLengthsAreRefusedNamingTheStruct() {
        refuses("kvm_regs", KvmAbi.KVM_REGS.byteSize(), Regs::fromBytes);
        refuses("kvm_sregs", KvmAbi.KVM_SREGS.byteSize(), Sregs::fromBytes);
        refuses("kvm_fpu", KvmAbi.KVM_FPU.byteSize(), Fpu::fromBytes);
    }

    private static void refuses(String struct, long size, Function<byte[], ?> fromBytes) {
        for (int length : new int[] {0, (int) size - 1, (int) size + 1}) {
            var e = assertThrows(IllegalArgumentException.class, () -> fromBytes.apply(new byte[length]));
            assertTrue(e.getMessage().contains(struct) && e.getMessage().contains(Long.toString(size))
                    && e.getMessage().contains("got " + length), e.getMessage());
        }
    }
}
