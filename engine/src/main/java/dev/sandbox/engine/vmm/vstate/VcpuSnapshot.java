package dev.sandbox.engine.vmm.vstate;

import dev.sandbox.engine.vmm.arch.CpuidEntry;
import dev.sandbox.ffi.NativeException;
import dev.sandbox.ffi.kvm.DebugRegs;
import dev.sandbox.ffi.kvm.Fpu;
import dev.sandbox.ffi.kvm.Lapic;
import dev.sandbox.ffi.kvm.Msr;
import dev.sandbox.ffi.kvm.Regs;
import dev.sandbox.ffi.kvm.Sregs;
import dev.sandbox.ffi.kvm.VcpuEvents;
import dev.sandbox.ffi.kvm.VcpuFd;
import dev.sandbox.ffi.kvm.Xcrs;
import dev.sandbox.ffi.kvm.Xsave;

import java.util.ArrayList;
import java.util.List;

/**
 * Everything KVM keeps of one vCPU, in the order Firecracker saves it, plus the CPUID it ran with and its TSC
 * frequency (a restore must give the guest the same CPU, or refuse). {@code xsave} is always there: KVM_GET_XSAVE
 * works without XSAVE in the CPU too (it then holds the FXSAVE area), and it is the only way to restore MXCSR, which
 * KVM_SET_FPU ignores. {@code xcrs} is null where the host has no XSAVE (the nested test host runs without it).
 */
public record VcpuSnapshot(int id, List<CpuidEntry> cpuid, int tscKhz, int mpState, Regs regs, Sregs sregs, Fpu fpu,
                           Xsave xsave, Xcrs xcrs, DebugRegs debugRegs, Lapic lapic, List<Msr> msrs,
                           VcpuEvents events) {
    private static final System.Logger LOG = System.getLogger(VcpuSnapshot.class.getName());
    /** IA32_TSC_DEADLINE: restored last, after the TSC it is compared with (as Firecracker does). */
    static final int TSC_DEADLINE = 0x6e0;
    static final int IA32_TSC = 0x10;

    public VcpuSnapshot {
        cpuid = List.copyOf(cpuid);
        msrs = List.copyOf(msrs);
    }

    /**
     * Reads the state of a vCPU that is out of KVM_RUN (paused and settled, see {@link Vcpu#pausedFd()}): the MSRs
     * in {@code msrIndices} (every one must be readable: see {@link SavedMsrs}), and XCRs where the host has XSAVE.
     */
    public static VcpuSnapshot capture(VcpuFd fd, List<CpuidEntry> cpuid, int[] msrIndices, boolean xcrsToo) {
        int tscKhz = fd.getTscKhz();
        int mpState = fd.getMpState();
        Regs regs = fd.getRegs();
        Sregs sregs = fd.getSregs();
        Fpu fpu = fd.getFpu();
        Xsave xsave = fd.getXsave();
        Xcrs xcrs = xcrsToo ? fd.getXcrs() : null;
        DebugRegs debugRegs = fd.getDebugRegs();
        Lapic lapic = fd.getLapic();
        List<Msr> msrs = fd.getMsrs(msrIndices); // throws, naming the MSR, if KVM cannot read one
        VcpuEvents events = fd.getVcpuEvents();
        return new VcpuSnapshot(fd.id(), cpuid, tscKhz, mpState, regs, sregs, fpu, xsave, xcrs, debugRegs, lapic,
                msrs, events);
    }

    /**
     * Writes this state into a fresh vCPU, in Firecracker's restore order: CPUID, TSC frequency, MP state, registers,
     * FPU (FXSAVE area via XSAVE, which carries MXCSR), XCRs, debug registers, LAPIC, MSRs with TSC_DEADLINE last,
     * events. KVM checks each piece, and any refusal fails the restore (an MSR KVM will not take is named).
     */
    public void restore(VcpuFd fd, int hostTscKhz) {
        fd.setCpuid2(KvmTypes.toKvm(cpuid));
        if (tscKhz != hostTscKhz) {
            try {
                fd.setTscKhz(tscKhz);
            } catch (NativeException e) {
                throw new IllegalStateException("the snapshot's guest TSC runs at %d kHz, this host's at %d kHz and"
                        .formatted(tscKhz, hostTscKhz) + " KVM cannot scale it: " + e.getMessage(), e);
            }
        }
        fd.setMpState(mpState);
        fd.setRegs(regs);
        fd.setSregs(sregs);
        fd.setFpu(fpu);
        fd.setXsave(xsave);
        if (xcrs != null) {
            fd.setXcrs(xcrs);
        }
        fd.setDebugRegs(debugRegs);
        fd.setLapic(lapic);
        setMsrs(fd, orderedForRestore(msrs));
        fd.setVcpuEvents(events);
        try {
            fd.kvmclockCtrl(); // the guest was stopped: its soft-lockup watchdog must not count the gap
        } catch (NativeException e) {
            LOG.log(System.Logger.Level.DEBUG, "vCPU {0}: KVM_KVMCLOCK_CTRL: {1}", id, e.getMessage());
        }
    }

    /**
     * TSC_DEADLINE goes last, after the TSC; a zero deadline becomes the TSC itself, so a timer that was due when the
     * snapshot was taken fires at once instead of never (Firecracker's fix for guests stuck after a restore).
     */
    static List<Msr> orderedForRestore(List<Msr> msrs) {
        List<Msr> ordered = new ArrayList<>(msrs.size());
        Msr deadline = null;
        long tsc = 0;
        for (Msr msr : msrs) {
            if (msr.index() == TSC_DEADLINE) {
                deadline = msr;
            } else {
                ordered.add(msr);
                if (msr.index() == IA32_TSC) {
                    tsc = msr.data();
                }
            }
        }
        if (deadline != null) {
            ordered.add(deadline.data() == 0 ? new Msr(TSC_DEADLINE, tsc) : deadline);
        }
        return ordered;
    }

    private void setMsrs(VcpuFd fd, List<Msr> ordered) {
        try {
            fd.setMsrs(ordered);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("vCPU " + id + ": KVM refused to restore an MSR: " + e.getMessage(), e);
        }
    }
}
