package dev.sandbox.engine.vmm.vstate;

import dev.sandbox.engine.vmm.arch.BootRegs;
import dev.sandbox.engine.vmm.arch.CpuidEntry;
import dev.sandbox.engine.vmm.arch.MsrEntry;
import dev.sandbox.engine.vmm.arch.Segment;
import dev.sandbox.ffi.kvm.DTable;
import dev.sandbox.ffi.kvm.Fpu;
import dev.sandbox.ffi.kvm.Msr;
import dev.sandbox.ffi.kvm.Regs;
import dev.sandbox.ffi.kvm.Sregs;

import java.util.List;

/**
 * Converts the arch package's plain records (which know nothing of KVM) into ffi's KVM structures. The arch records
 * stay free of ffi so they can be unit-tested and reused by snapshots without native access.
 */
public final class KvmTypes {
    private KvmTypes() {
    }

    public static dev.sandbox.ffi.kvm.Segment segment(Segment s) {
        return new dev.sandbox.ffi.kvm.Segment(s.base(), s.limit(), s.selector(), s.type(), s.present(), s.dpl(),
                s.db(), s.s(), s.l(), s.g(), s.avl(), s.unusable());
    }

    public static Regs regs(BootRegs.Regs r) {
        return Regs.RESET.withRip(r.rip()).withRsp(r.rsp()).withRbp(r.rbp()).withRsi(r.rsi()).withRflags(r.rflags());
    }

    /** The boot values on top of {@code current} (KVM's reset state keeps what boot does not name, e.g. apic_base). */
    public static Sregs sregs(Sregs current, BootRegs.Sregs b) {
        return current.toBuilder()
                .cs(segment(b.cs())).ds(segment(b.ds())).es(segment(b.es())).fs(segment(b.fs()))
                .gs(segment(b.gs())).ss(segment(b.ss())).tr(segment(b.tr()))
                .gdt(new DTable(b.gdt().base(), b.gdt().limit())).idt(new DTable(b.idt().base(), b.idt().limit()))
                .cr0(b.cr0()).cr3(b.cr3()).cr4(b.cr4()).efer(b.efer())
                .build();
    }

    public static Fpu fpu(BootRegs.Fpu f) {
        return Fpu.of(f.fcw(), f.mxcsr());
    }

    public static List<CpuidEntry> fromKvm(List<dev.sandbox.ffi.kvm.CpuidEntry> entries) {
        return entries.stream()
                .map(e -> new CpuidEntry(e.function(), e.index(), e.flags(), e.eax(), e.ebx(), e.ecx(), e.edx()))
                .toList();
    }

    public static List<dev.sandbox.ffi.kvm.CpuidEntry> toKvm(List<CpuidEntry> entries) {
        return entries.stream()
                .map(e -> new dev.sandbox.ffi.kvm.CpuidEntry(e.function(), e.index(), e.flags(), e.eax(), e.ebx(),
                        e.ecx(), e.edx()))
                .toList();
    }

    public static List<Msr> msrs(List<MsrEntry> entries) {
        return entries.stream().map(e -> new Msr(e.index(), e.value())).toList();
    }
}
