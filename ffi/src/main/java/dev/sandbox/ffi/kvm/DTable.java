package dev.sandbox.ffi.kvm;

import static dev.sandbox.ffi.kvm.KvmAbi.KVM_DTABLE;
import static dev.sandbox.ffi.kvm.KvmAbi.U16;
import static dev.sandbox.ffi.kvm.KvmAbi.U64;

import java.lang.foreign.MemorySegment;

/** A descriptor table register (GDTR, IDTR): {@code struct kvm_dtable}. */
public record DTable(long base, int limit) {
    private static final long BASE = Structs.offset(KVM_DTABLE, "base");
    private static final long LIMIT = Structs.offset(KVM_DTABLE, "limit");

    static DTable read(MemorySegment m, long at) {
        return new DTable(m.get(U64, at + BASE), Short.toUnsignedInt(m.get(U16, at + LIMIT)));
    }

    void write(MemorySegment m, long at) {
        m.asSlice(at, KVM_DTABLE.byteSize()).fill((byte) 0);
        m.set(U64, at + BASE, base);
        m.set(U16, at + LIMIT, (short) limit);
    }
}
