package dev.sandbox.ffi.kvm;

import static dev.sandbox.ffi.kvm.KvmAbi.KVM_SREGS;
import static dev.sandbox.ffi.kvm.KvmAbi.U64;

import java.lang.foreign.MemorySegment;

/** Special registers: {@code struct kvm_sregs}. Change a few with {@link #toBuilder()}. */
public record Sregs(Segment cs, Segment ds, Segment es, Segment fs, Segment gs, Segment ss, Segment tr,
        Segment ldt, DTable gdt, DTable idt, long cr0, long cr2, long cr3, long cr4, long cr8, long efer,
        long apicBase, long[] interruptBitmap) {

    private static final String[] SEGMENTS = {"cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt"};
    private static final String[] CONTROL = {"cr0", "cr2", "cr3", "cr4", "cr8", "efer", "apic_base"};
    private static final int BITMAP_WORDS = (KvmConstants.KVM_NR_INTERRUPTS + 63) / 64;

    public Sregs {
        if (interruptBitmap.length != BITMAP_WORDS) {
            throw new IllegalArgumentException("interrupt bitmap needs " + BITMAP_WORDS + " words");
        }
        interruptBitmap = interruptBitmap.clone();
    }

    /** The struct exactly as KVM lays it out, for a snapshot. */
    public byte[] toBytes() {
        return StructBytes.encode(KVM_SREGS, this::write);
    }

    /** The inverse of {@link #toBytes()}; refuses any length but the struct's. */
    public static Sregs fromBytes(byte[] bytes) {
        return StructBytes.decode(bytes, KVM_SREGS, Sregs::read);
    }

    static Sregs read(MemorySegment m) {
        Segment[] seg = new Segment[SEGMENTS.length];
        for (int i = 0; i < seg.length; i++) {
            seg[i] = Segment.read(m, Structs.offset(KVM_SREGS, SEGMENTS[i]));
        }
        long[] c = new long[CONTROL.length];
        for (int i = 0; i < c.length; i++) {
            c[i] = m.get(U64, Structs.offset(KVM_SREGS, CONTROL[i]));
        }
        long bitmap = Structs.offset(KVM_SREGS, "interrupt_bitmap");
        return new Sregs(seg[0], seg[1], seg[2], seg[3], seg[4], seg[5], seg[6], seg[7],
                DTable.read(m, Structs.offset(KVM_SREGS, "gdt")), DTable.read(m, Structs.offset(KVM_SREGS, "idt")),
                c[0], c[1], c[2], c[3], c[4], c[5], c[6],
                m.asSlice(bitmap, BITMAP_WORDS * 8L).toArray(U64));
    }

    void write(MemorySegment m) {
        Segment[] seg = {cs, ds, es, fs, gs, ss, tr, ldt};
        for (int i = 0; i < seg.length; i++) {
            seg[i].write(m, Structs.offset(KVM_SREGS, SEGMENTS[i]));
        }
        gdt.write(m, Structs.offset(KVM_SREGS, "gdt"));
        idt.write(m, Structs.offset(KVM_SREGS, "idt"));
        long[] c = {cr0, cr2, cr3, cr4, cr8, efer, apicBase};
        for (int i = 0; i < c.length; i++) {
            m.set(U64, Structs.offset(KVM_SREGS, CONTROL[i]), c[i]);
        }
        MemorySegment.copy(interruptBitmap, 0, m, U64, Structs.offset(KVM_SREGS, "interrupt_bitmap"), BITMAP_WORDS);
    }

    @Override
    public long[] interruptBitmap() {
        return interruptBitmap.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Sregs x && cs.equals(x.cs) && ds.equals(x.ds) && es.equals(x.es) && fs.equals(x.fs)
                && gs.equals(x.gs) && ss.equals(x.ss) && tr.equals(x.tr) && ldt.equals(x.ldt) && gdt.equals(x.gdt)
                && idt.equals(x.idt) && cr0 == x.cr0 && cr2 == x.cr2 && cr3 == x.cr3 && cr4 == x.cr4
                && cr8 == x.cr8 && efer == x.efer && apicBase == x.apicBase
                && java.util.Arrays.equals(interruptBitmap, x.interruptBitmap);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(cs, ds, es, fs, gs, ss, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer,
                apicBase, java.util.Arrays.hashCode(interruptBitmap));
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Mutable copy for changing a few fields: {@code sregs.toBuilder().cr0(x).cs(seg).build()}. */
    public static final class Builder {
        private Segment cs, ds, es, fs, gs, ss, tr, ldt;
        private DTable gdt, idt;
        private long cr0, cr2, cr3, cr4, cr8, efer, apicBase;
        private long[] interruptBitmap;

        private Builder(Sregs s) {
            cs = s.cs; ds = s.ds; es = s.es; fs = s.fs; gs = s.gs; ss = s.ss; tr = s.tr; ldt = s.ldt;
            gdt = s.gdt; idt = s.idt;
            cr0 = s.cr0; cr2 = s.cr2; cr3 = s.cr3; cr4 = s.cr4; cr8 = s.cr8; efer = s.efer; apicBase = s.apicBase;
            interruptBitmap = s.interruptBitmap;
        }

        public Builder cs(Segment v) { cs = v; return this; }
        public Builder ds(Segment v) { ds = v; return this; }
        public Builder es(Segment v) { es = v; return this; }
        public Builder fs(Segment v) { fs = v; return this; }
        public Builder gs(Segment v) { gs = v; return this; }
        public Builder ss(Segment v) { ss = v; return this; }
        public Builder tr(Segment v) { tr = v; return this; }
        public Builder ldt(Segment v) { ldt = v; return this; }
        public Builder gdt(DTable v) { gdt = v; return this; }
        public Builder idt(DTable v) { idt = v; return this; }
        public Builder cr0(long v) { cr0 = v; return this; }
        public Builder cr2(long v) { cr2 = v; return this; }
        public Builder cr3(long v) { cr3 = v; return this; }
        public Builder cr4(long v) { cr4 = v; return this; }
        public Builder cr8(long v) { cr8 = v; return this; }
        public Builder efer(long v) { efer = v; return this; }
        public Builder apicBase(long v) { apicBase = v; return this; }

        /** Sets ds, es, fs, gs and ss at once, the usual flat data segment. */
        public Builder dataSegments(Segment v) {
            ds = v; es = v; fs = v; gs = v; ss = v;
            return this;
        }

        public Sregs build() {
            return new Sregs(cs, ds, es, fs, gs, ss, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer, apicBase,
                    interruptBitmap);
        }
    }
}
