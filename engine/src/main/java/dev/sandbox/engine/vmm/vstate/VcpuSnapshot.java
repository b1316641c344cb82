package dev.sandbox.engine.vmm.vstate;

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
 * Everything KVM keeps of one vCPU, in the order Firecracker saves it. {@code xsave} and {@code xcrs} are null where
 * the host has no XSAVE (the nested test host runs without it); then {@code fpu} carries the FPU and SSE state.
 */
public record VcpuSnapshot(int id, int mpState, Regs regs, Sregs sregs, Fpu fpu, Xsave xsave, Xcrs xcrs,
                           DebugRegs debugRegs, Lapic lapic, List<Msr> msrs, VcpuEvents events) {
    private static final System.Logger LOG = System.getLogger(VcpuSnapshot.class.getName());

    public VcpuSnapshot {
        msrs = List.copyOf(msrs);
    }

    /**
     * Reads the state of a vCPU that is out of KVM_RUN (paused and settled, see {@link Vcpu#pausedFd()}): every MSR in
     * {@code listedMsrs} (KVM_GET_MSR_INDEX_LIST) that KVM can read here, and XSAVE state where the host has it.
     */
    public static VcpuSnapshot capture(VcpuFd fd, int[] listedMsrs, boolean xsave) {
        int mpState = fd.getMpState();
        Regs regs = fd.getRegs();
        Sregs sregs = fd.getSregs();
        Fpu fpu = fd.getFpu();
        Xsave xsaveState = xsave ? fd.getXsave() : null;
        Xcrs xcrs = xsave ? fd.getXcrs() : null;
        DebugRegs debugRegs = fd.getDebugRegs();
        Lapic lapic = fd.getLapic();
        List<Msr> msrs = readableMsrs(fd, listedMsrs);
        VcpuEvents events = fd.getVcpuEvents();
        return new VcpuSnapshot(fd.id(), mpState, regs, sregs, fpu, xsaveState, xcrs, debugRegs, lapic, msrs,
                events);
    }

    /**
     * Writes this state into a fresh vCPU whose CPUID is already set, in Firecracker's restore order. KVM checks each
     * piece; an MSR it refuses is skipped with a warning (a host without that MSR), anything else fails the restore.
     */
    public void restore(VcpuFd fd) {
        fd.setMpState(mpState);
        fd.setRegs(regs);
        fd.setSregs(sregs);
        if (xsave != null) {
            fd.setXsave(xsave);
            fd.setXcrs(xcrs);
        } else {
            fd.setFpu(fpu);
        }
        fd.setDebugRegs(debugRegs);
        fd.setLapic(lapic);
        setMsrs(fd);
        fd.setVcpuEvents(events);
    }

    private void setMsrs(VcpuFd fd) {
        try {
            fd.setMsrs(msrs);
            return;
        } catch (IllegalArgumentException e) {
            // one by one below, to keep all the others
        }
        List<String> refused = new ArrayList<>();
        for (Msr msr : msrs) {
            try {
                fd.setMsrs(List.of(msr));
            } catch (IllegalArgumentException | NativeException e) {
                refused.add("0x" + Integer.toHexString(msr.index()));
            }
        }
        LOG.log(System.Logger.Level.WARNING, "vCPU {0}: KVM refused to restore MSRs {1}", id, refused);
    }

    /** Reads the listed MSRs, leaving out those KVM lists but cannot read on this host (it stops at the first). */
    static List<Msr> readableMsrs(VcpuFd fd, int[] listed) {
        List<Integer> left = new ArrayList<>();
        for (int index : listed) {
            left.add(index);
        }
        while (true) {
            try {
                return fd.getMsrs(left.stream().mapToInt(Integer::intValue).toArray());
            } catch (IllegalArgumentException e) {
                int before = left.size();
                left.removeIf(i -> e.getMessage().endsWith(" 0x" + Integer.toHexString(i)));
                if (left.size() == before) {
                    throw e;
                }
            }
        }
    }
}
