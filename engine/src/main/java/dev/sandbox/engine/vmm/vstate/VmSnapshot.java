package dev.sandbox.engine.vmm.vstate;

import dev.sandbox.ffi.kvm.ClockData;
import dev.sandbox.ffi.kvm.Irqchip;
import dev.sandbox.ffi.kvm.KvmConstants;
import dev.sandbox.ffi.kvm.PitState;
import dev.sandbox.ffi.kvm.VmFd;

import java.util.Arrays;
import java.util.List;

/** The VM-wide state KVM keeps: both PICs and the IOAPIC, the PIT and the kvmclock. */
public record VmSnapshot(List<Irqchip> irqchips, PitState pit, long clock) {
    static final int[] CHIPS = {KvmConstants.KVM_IRQCHIP_PIC_MASTER, KvmConstants.KVM_IRQCHIP_PIC_SLAVE,
            KvmConstants.KVM_IRQCHIP_IOAPIC};

    public VmSnapshot {
        irqchips = List.copyOf(irqchips);
        if (irqchips.size() != CHIPS.length) {
            throw new IllegalArgumentException("a VM has " + CHIPS.length + " irqchips, got " + irqchips.size());
        }
        for (int i = 0; i < CHIPS.length; i++) {
            if (irqchips.get(i).chipId() != CHIPS[i]) {
                throw new IllegalArgumentException("irqchip " + i + " has id " + irqchips.get(i).chipId());
            }
        }
    }

    /** With every vCPU out of KVM_RUN. */
    public static VmSnapshot capture(VmFd fd) {
        List<Irqchip> chips = Arrays.stream(CHIPS).mapToObj(fd::getIrqchip).toList();
        return new VmSnapshot(chips, fd.getPit2(), fd.getClock().clock());
    }

    /**
     * Into a fresh VM, before its vCPUs run. The clock goes on from where it stood at the pause, so the guest's
     * monotonic time has no jump; its wall clock is set again by the engine through the agent.
     */
    public void restore(VmFd fd) {
        fd.setPit2(pit);
        fd.setClock(new ClockData(clock, 0, 0, 0));
        irqchips.forEach(fd::setIrqchip);
    }
}
