package dev.sandbox.ffi.kvm;

import java.lang.foreign.MemorySegment;

/** General-purpose registers: {@code struct kvm_regs}. */
public record Regs(long rax, long rbx, long rcx, long rdx, long rsi, long rdi, long rsp, long rbp,
        long r8, long r9, long r10, long r11, long r12, long r13, long r14, long r15, long rip, long rflags) {

    /** All zero except rflags bit 1, which x86 requires set. */
    public static final Regs RESET = new Regs(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);

    public Regs withRip(long v) {
        return new Regs(rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, v, rflags);
    }

    public Regs withRsp(long v) {
        return new Regs(rax, rbx, rcx, rdx, rsi, rdi, v, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags);
    }

    public Regs withRbp(long v) {
        return new Regs(rax, rbx, rcx, rdx, rsi, rdi, rsp, v, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags);
    }

    public Regs withRsi(long v) {
        return new Regs(rax, rbx, rcx, rdx, v, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags);
    }

    public Regs withRax(long v) {
        return new Regs(v, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags);
    }

    public Regs withRbx(long v) {
        return new Regs(rax, v, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags);
    }

    public Regs withRflags(long v) {
        return new Regs(rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, v);
    }

    /** The struct exactly as KVM lays it out, for a snapshot. */
    public byte[] toBytes() {
        return StructBytes.encode(KvmAbi.KVM_REGS, this::write);
    }

    /** The inverse of {@link #toBytes()}; refuses any length but the struct's. */
    public static Regs fromBytes(byte[] bytes) {
        return StructBytes.decode(bytes, KvmAbi.KVM_REGS, Regs::read);
    }

    // The struct is 18 consecutive __u64 in this order (checked against C by AbiTest).
    static Regs read(MemorySegment s) {
        long[] v = s.toArray(KvmAbi.U64);
        return new Regs(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13],
                v[14], v[15], v[16], v[17]);
    }

    void write(MemorySegment s) {
        long[] v = {rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags};
        MemorySegment.copy(v, 0, s, KvmAbi.U64, 0, v.length);
    }
}
