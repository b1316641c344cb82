package dev.sandbox.ffi.kvm;

import static dev.sandbox.ffi.kvm.KvmAbi.KVM_FPU;
import static dev.sandbox.ffi.kvm.KvmAbi.U16;
import static dev.sandbox.ffi.kvm.KvmAbi.U32;
import static dev.sandbox.ffi.kvm.KvmAbi.U64;
import static dev.sandbox.ffi.kvm.KvmAbi.U8;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

/** x87/SSE state: {@code struct kvm_fpu}. {@code fpr} is 8×16 bytes, {@code xmm} 16×16 bytes, row after row. */
public record Fpu(byte[] fpr, int fcw, int fsw, int ftwx, int lastOpcode, long lastIp, long lastDp, byte[] xmm,
        int mxcsr) {
    private static final long FPR = Structs.offset(KVM_FPU, "fpr");
    private static final long FPR_SIZE = KVM_FPU.select(groupElement("fpr")).byteSize();
    private static final long FCW = Structs.offset(KVM_FPU, "fcw");
    private static final long FSW = Structs.offset(KVM_FPU, "fsw");
    private static final long FTWX = Structs.offset(KVM_FPU, "ftwx");
    private static final long LAST_OPCODE = Structs.offset(KVM_FPU, "last_opcode");
    private static final long LAST_IP = Structs.offset(KVM_FPU, "last_ip");
    private static final long LAST_DP = Structs.offset(KVM_FPU, "last_dp");
    private static final long XMM = Structs.offset(KVM_FPU, "xmm");
    private static final long XMM_SIZE = KVM_FPU.select(groupElement("xmm")).byteSize();
    private static final long MXCSR = Structs.offset(KVM_FPU, "mxcsr");

    public Fpu {
        if (fpr.length != FPR_SIZE || xmm.length != XMM_SIZE) {
            throw new IllegalArgumentException("fpr needs " + FPR_SIZE + " bytes and xmm " + XMM_SIZE);
        }
        fpr = fpr.clone();
        xmm = xmm.clone();
    }

    /** Zeroed registers with the given control words (e.g. the reset values fcw 0x37f, mxcsr 0x1f80). */
    public static Fpu of(int fcw, int mxcsr) {
        return new Fpu(new byte[(int) FPR_SIZE], fcw, 0, 0, 0, 0, 0, new byte[(int) XMM_SIZE], mxcsr);
    }

    /** The struct exactly as KVM lays it out, for a snapshot. */
    public byte[] toBytes() {
        return StructBytes.encode(KVM_FPU, this::write);
    }

    /** The inverse of {@link #toBytes()}; refuses any length but the struct's. */
    public static Fpu fromBytes(byte[] bytes) {
        return StructBytes.decode(bytes, KVM_FPU, Fpu::read);
    }

    static Fpu read(MemorySegment m) {
        return new Fpu(m.asSlice(FPR, FPR_SIZE).toArray(U8), Short.toUnsignedInt(m.get(U16, FCW)),
                Short.toUnsignedInt(m.get(U16, FSW)), Byte.toUnsignedInt(m.get(U8, FTWX)),
                Short.toUnsignedInt(m.get(U16, LAST_OPCODE)), m.get(U64, LAST_IP), m.get(U64, LAST_DP),
                m.asSlice(XMM, XMM_SIZE).toArray(U8), m.get(U32, MXCSR));
    }

    void write(MemorySegment m) {
        MemorySegment.copy(fpr, 0, m, U8, FPR, fpr.length);
        m.set(U16, FCW, (short) fcw);
        m.set(U16, FSW, (short) fsw);
        m.set(U8, FTWX, (byte) ftwx);
        m.set(U16, LAST_OPCODE, (short) lastOpcode);
        m.set(U64, LAST_IP, lastIp);
        m.set(U64, LAST_DP, lastDp);
        MemorySegment.copy(xmm, 0, m, U8, XMM, xmm.length);
        m.set(U32, MXCSR, mxcsr);
    }

    @Override
    public byte[] fpr() {
        return fpr.clone();
    }

    @Override
    public byte[] xmm() {
        return xmm.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Fpu f && Arrays.equals(fpr, f.fpr) && fcw == f.fcw && fsw == f.fsw && ftwx == f.ftwx
                && lastOpcode == f.lastOpcode && lastIp == f.lastIp && lastDp == f.lastDp
                && Arrays.equals(xmm, f.xmm) && mxcsr == f.mxcsr;
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(fpr), fcw, fsw, ftwx, lastOpcode, lastIp, lastDp, Arrays.hashCode(xmm),
                mxcsr);
    }
}
