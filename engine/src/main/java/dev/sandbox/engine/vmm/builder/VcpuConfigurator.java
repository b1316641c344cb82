package dev.sandbox.engine.vmm.builder;

import dev.sandbox.engine.vmm.arch.BootRegs;
import dev.sandbox.engine.vmm.arch.Cpuid;
import dev.sandbox.engine.vmm.arch.CpuidEntry;
import dev.sandbox.engine.vmm.arch.Msrs;
import dev.sandbox.engine.vmm.vstate.KvmTypes;
import dev.sandbox.ffi.kvm.Lapic;
import dev.sandbox.ffi.kvm.VcpuFd;

import java.util.List;

/**
 * Per-vCPU setup before the first run: CPUID with this vCPU's APIC id and the VM's topology, the boot MSRs, the local
 * APIC's LINT0/LINT1 wired as on a PC, and on the boot vCPU the registers for the 64-bit Linux entry. Application
 * processors keep KVM's INIT state and wait for the SIPI the kernel sends once it read the MP table.
 */
final class VcpuConfigurator {
    static final int APIC_LVT0 = 0x350;
    static final int APIC_LVT1 = 0x360;
    static final int APIC_MODE_NMI = 0x4;
    static final int APIC_MODE_EXTINT = 0x7;

    private final List<CpuidEntry> supportedCpuid;
    private final int vcpuCount;

    VcpuConfigurator(List<CpuidEntry> supportedCpuid, int vcpuCount) {
        this.supportedCpuid = supportedCpuid;
        this.vcpuCount = vcpuCount;
    }

    void configure(VcpuFd vcpu, BootRegs boot) {
        vcpu.setCpuid2(KvmTypes.toKvm(Cpuid.forVcpu(supportedCpuid, vcpu.id(), vcpuCount)));
        vcpu.setMsrs(KvmTypes.msrs(Msrs.BOOT));
        if (vcpu.id() == 0) {
            vcpu.setRegs(KvmTypes.regs(boot.regs()));
            vcpu.setSregs(KvmTypes.sregs(vcpu.getSregs(), boot.sregs()));
            vcpu.setFpu(KvmTypes.fpu(boot.fpu()));
        }
        Lapic lapic = vcpu.getLapic();
        vcpu.setLapic(lapic
                .withRegister(APIC_LVT0, deliveryMode(lapic.register(APIC_LVT0), APIC_MODE_EXTINT))
                .withRegister(APIC_LVT1, deliveryMode(lapic.register(APIC_LVT1), APIC_MODE_NMI)));
    }

    /** An LVT entry with its delivery mode (bits 8..10) replaced, as Firecracker's {@code set_lint} does. */
    static int deliveryMode(int lvt, int mode) {
        return (lvt & ~0x700) | (mode << 8);
    }
}
