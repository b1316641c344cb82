package dev.sandbox.ffi.kvm;

import static dev.sandbox.ffi.kvm.KvmAbi.KVM_SEGMENT;
import static dev.sandbox.ffi.kvm.KvmAbi.U16;
import static dev.sandbox.ffi.kvm.KvmAbi.U32;
import static dev.sandbox.ffi.kvm.KvmAbi.U64;
import static dev.sandbox.ffi.kvm.KvmAbi.U8;

import java.lang.foreign.MemorySegment;

/** A segment register as KVM sees it: {@code struct kvm_segment}, descriptor fields unpacked. */
public record Segment(long base, int limit, int selector, int type, boolean present, int dpl, boolean db,
        boolean s, boolean l, boolean g, boolean avl, boolean unusable) {

    private static final long BASE = Structs.offset(KVM_SEGMENT, "base");
    private static final long LIMIT = Structs.offset(KVM_SEGMENT, "limit");
    private static final long SELECTOR = Structs.offset(KVM_SEGMENT, "selector");
    private static final long TYPE = Structs.offset(KVM_SEGMENT, "type");
    private static final long PRESENT = Structs.offset(KVM_SEGMENT, "present");
    private static final long DPL = Structs.offset(KVM_SEGMENT, "dpl");
    private static final long DB = Structs.offset(KVM_SEGMENT, "db");
    private static final long S = Structs.offset(KVM_SEGMENT, "s");
    private static final long L = Structs.offset(KVM_SEGMENT, "l");
    private static final long G = Structs.offset(KVM_SEGMENT, "g");
    private static final long AVL = Structs.offset(KVM_SEGMENT, "avl");
    private static final long UNUSABLE = Structs.offset(KVM_SEGMENT, "unusable");

    static Segment read(MemorySegment m, long at) {
        return new Segment(m.get(U64, at + BASE), m.get(U32, at + LIMIT),
                Short.toUnsignedInt(m.get(U16, at + SELECTOR)), Byte.toUnsignedInt(m.get(U8, at + TYPE)),
                m.get(U8, at + PRESENT) != 0, Byte.toUnsignedInt(m.get(U8, at + DPL)), m.get(U8, at + DB) != 0,
                m.get(U8, at + S) != 0, m.get(U8, at + L) != 0, m.get(U8, at + G) != 0, m.get(U8, at + AVL) != 0,
                m.get(U8, at + UNUSABLE) != 0);
    }

    void write(MemorySegment m, long at) {
        m.asSlice(at, KVM_SEGMENT.byteSize()).fill((byte) 0);
        m.set(U64, at + BASE, base);
        m.set(U32, at + LIMIT, limit);
        m.set(U16, at + SELECTOR, (short) selector);
        m.set(U8, at + TYPE, (byte) type);
        m.set(U8, at + PRESENT, bit(present));
        m.set(U8, at + DPL, (byte) dpl);
        m.set(U8, at + DB, bit(db));
        m.set(U8, at + S, bit(s));
        m.set(U8, at + L, bit(l));
        m.set(U8, at + G, bit(g));
        m.set(U8, at + AVL, bit(avl));
        m.set(U8, at + UNUSABLE, bit(unusable));
    }

    private static byte bit(boolean b) {
        return (byte) (b ? 1 : 0);
    }
}
