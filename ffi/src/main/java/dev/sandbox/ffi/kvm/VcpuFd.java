package dev.sandbox.ffi.kvm;

import static dev.sandbox.ffi.kvm.KvmAbi.KVM_CPUID2;
import static dev.sandbox.ffi.kvm.KvmAbi.KVM_CPUID_ENTRY2;
import static dev.sandbox.ffi.kvm.KvmAbi.KVM_MP_STATE;
import static dev.sandbox.ffi.kvm.KvmAbi.KVM_MSRS;
import static dev.sandbox.ffi.kvm.KvmAbi.KVM_MSR_ENTRY;
import static dev.sandbox.ffi.kvm.KvmAbi.KVM_SIGNAL_MASK;
import static dev.sandbox.ffi.kvm.KvmAbi.U32;
import static dev.sandbox.ffi.kvm.KvmAbi.U64;
import static dev.sandbox.ffi.kvm.KvmAbi.U8;

import dev.sandbox.ffi.Errno;
import dev.sandbox.ffi.Libc;
import dev.sandbox.ffi.Mapping;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Owner of a vCPU fd and its mmapped {@code kvm_run} page. {@link #run()} and the state calls belong to the vCPU's
 * own thread; {@link #setImmediateExit} may be called from any thread (that is how a kick works).
 */
public final class VcpuFd implements AutoCloseable {
    private static final long NMSRS = Structs.offset(KVM_MSRS, "nmsrs");
    private static final long MSR_ENTRIES = Structs.offset(KVM_MSRS, "entries");
    private static final long MSR_INDEX = Structs.offset(KVM_MSR_ENTRY, "index");
    private static final long MSR_DATA = Structs.offset(KVM_MSR_ENTRY, "data");
    private static final long NENT = Structs.offset(KVM_CPUID2, "nent");
    private static final long CPUID_ENTRIES = Structs.offset(KVM_CPUID2, "entries");
    private static final long SIGMASK_LEN = Structs.offset(KVM_SIGNAL_MASK, "len");
    private static final long SIGMASK_SET = Structs.offset(KVM_SIGNAL_MASK, "sigset");

    private final OwnedFd fd;
    private final int id;
    private final Mapping runMapping;
    private final KvmRun run;

    VcpuFd(int fd, int id, int mmapSize) {
        this.fd = new OwnedFd(fd, "vCPU " + id);
        this.id = id;
        this.runMapping = Mapping.ofFd(fd, 0, mmapSize, Mapping.Sharing.SHARED, false);
        this.run = new KvmRun(runMapping.segment());
    }

    public int id() {
        return id;
    }

    /**
     * KVM_RUN until the next exit. An interrupted run (a kick: signal or {@code immediate_exit}) returns
     * {@link VcpuExit.Intr}; any other failure throws. Blocks this platform thread while the guest runs.
     */
    public VcpuExit run() {
        while (true) {
            int r = Libc.ioctlAllowing(fd.get(), KvmIoctls.KVM_RUN.name(), KvmIoctls.KVM_RUN.number(), 0,
                    Errno.EINTR, Errno.EAGAIN);
            if (r == -Errno.EAGAIN.value()) {
                continue; // an application processor woke from wait-for-SIPI without starting: run again
            }
            return r == -Errno.EINTR.value() ? new VcpuExit.Intr() : run.exit();
        }
    }

    /** kvm_run.immediate_exit: while set, KVM_RUN returns EINTR at once instead of entering the guest. */
    public void setImmediateExit(boolean on) {
        run.setImmediateExit(on);
    }

    public boolean immediateExit() {
        return run.immediateExit();
    }

    /**
     * KVM_SET_SIGNAL_MASK: the signal mask in force while in KVM_RUN, as the kernel's 8-byte sigset (see
     * {@code ThreadSignals.kernelMaskWithSignalUnblocked()}).
     */
    public void setSignalMask(byte[] kernelSigset) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(KVM_SIGNAL_MASK.byteSize() + kernelSigset.length,
                    KVM_SIGNAL_MASK.byteAlignment());
            m.set(U32, SIGMASK_LEN, kernelSigset.length);
            MemorySegment.copy(kernelSigset, 0, m, U8, SIGMASK_SET, kernelSigset.length);
            fd.ioctl(KvmIoctls.KVM_SET_SIGNAL_MASK, m);
        }
    }

    /** Drops the KVM_RUN signal mask: the thread's own mask applies in KVM_RUN again. */
    public void clearSignalMask() {
        fd.ioctl(KvmIoctls.KVM_SET_SIGNAL_MASK, MemorySegment.NULL);
    }

    public Regs getRegs() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KvmAbi.KVM_REGS);
            fd.ioctl(KvmIoctls.KVM_GET_REGS, s);
            return Regs.read(s);
        }
    }

    public void setRegs(Regs regs) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KvmAbi.KVM_REGS);
            regs.write(s);
            fd.ioctl(KvmIoctls.KVM_SET_REGS, s);
        }
    }

    public Sregs getSregs() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KvmAbi.KVM_SREGS);
            fd.ioctl(KvmIoctls.KVM_GET_SREGS, s);
            return Sregs.read(s);
        }
    }

    public void setSregs(Sregs sregs) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KvmAbi.KVM_SREGS);
            sregs.write(s);
            fd.ioctl(KvmIoctls.KVM_SET_SREGS, s);
        }
    }

    public Fpu getFpu() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KvmAbi.KVM_FPU);
            fd.ioctl(KvmIoctls.KVM_GET_FPU, s);
            return Fpu.read(s);
        }
    }

    /** Note: Linux (6.1) ignores {@code mxcsr} here; it only takes effect through {@link #setXsave}. */
    public void setFpu(Fpu fpu) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KvmAbi.KVM_FPU);
            fpu.write(s);
            fd.ioctl(KvmIoctls.KVM_SET_FPU, s);
        }
    }

    /** The legacy 4 KiB XSAVE area (KVM_GET_XSAVE). */
    public Xsave getXsave() {
        return new Xsave(getBytes(KvmIoctls.KVM_GET_XSAVE, KvmAbi.KVM_XSAVE));
    }

    public void setXsave(Xsave xsave) {
        setBytes(KvmIoctls.KVM_SET_XSAVE, KvmAbi.KVM_XSAVE, xsave.bytes());
    }

    public Xcrs getXcrs() {
        return new Xcrs(getBytes(KvmIoctls.KVM_GET_XCRS, KvmAbi.KVM_XCRS));
    }

    public void setXcrs(Xcrs xcrs) {
        setBytes(KvmIoctls.KVM_SET_XCRS, KvmAbi.KVM_XCRS, xcrs.bytes());
    }

    /** Needs the in-kernel irqchip. */
    public Lapic getLapic() {
        return new Lapic(getBytes(KvmIoctls.KVM_GET_LAPIC, KvmAbi.KVM_LAPIC_STATE));
    }

    public void setLapic(Lapic lapic) {
        setBytes(KvmIoctls.KVM_SET_LAPIC, KvmAbi.KVM_LAPIC_STATE, lapic.bytes());
    }

    public VcpuEvents getVcpuEvents() {
        return new VcpuEvents(getBytes(KvmIoctls.KVM_GET_VCPU_EVENTS, KvmAbi.KVM_VCPU_EVENTS));
    }

    public void setVcpuEvents(VcpuEvents events) {
        setBytes(KvmIoctls.KVM_SET_VCPU_EVENTS, KvmAbi.KVM_VCPU_EVENTS, events.bytes());
    }

    public DebugRegs getDebugRegs() {
        return new DebugRegs(getBytes(KvmIoctls.KVM_GET_DEBUGREGS, KvmAbi.KVM_DEBUGREGS));
    }

    public void setDebugRegs(DebugRegs regs) {
        setBytes(KvmIoctls.KVM_SET_DEBUGREGS, KvmAbi.KVM_DEBUGREGS, regs.bytes());
    }

    /** KVM_MP_STATE_RUNNABLE, _UNINITIALIZED, _HALTED, ... (see {@link KvmConstants}). */
    public int getMpState() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KVM_MP_STATE);
            fd.ioctl(KvmIoctls.KVM_GET_MP_STATE, s);
            return s.get(U32, 0);
        }
    }

    public void setMpState(int mpState) {
        try (Arena arena = Arena.ofConfined()) {
            fd.ioctl(KvmIoctls.KVM_SET_MP_STATE, arena.allocateFrom(U32, mpState));
        }
    }

    /** Reads the given MSRs; throws if KVM cannot read one of them (it stops at the first). */
    public List<Msr> getMsrs(int... indices) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = msrs(arena, indices.length);
            for (int i = 0; i < indices.length; i++) {
                s.set(U32, entry(i) + MSR_INDEX, indices[i]);
            }
            int done = fd.ioctl(KvmIoctls.KVM_GET_MSRS, s);
            if (done != indices.length) {
                throw new IllegalArgumentException("KVM_GET_MSRS cannot read MSR 0x"
                        + Integer.toHexString(indices[done]));
            }
            List<Msr> out = new ArrayList<>(indices.length);
            for (int i = 0; i < indices.length; i++) {
                out.add(new Msr(indices[i], s.get(U64, entry(i) + MSR_DATA)));
            }
            return List.copyOf(out);
        }
    }

    /** Writes the given MSRs; throws if KVM refuses one of them (it stops at the first). */
    public void setMsrs(List<Msr> msrs) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = msrs(arena, msrs.size());
            for (int i = 0; i < msrs.size(); i++) {
                s.set(U32, entry(i) + MSR_INDEX, msrs.get(i).index());
                s.set(U64, entry(i) + MSR_DATA, msrs.get(i).data());
            }
            int done = fd.ioctl(KvmIoctls.KVM_SET_MSRS, s);
            if (done != msrs.size()) {
                throw new IllegalArgumentException("KVM_SET_MSRS refused MSR 0x"
                        + Integer.toHexString(msrs.get(done).index()));
            }
        }
    }

    private static MemorySegment msrs(Arena arena, int count) {
        MemorySegment s = arena.allocate(KVM_MSRS.byteSize() + count * KVM_MSR_ENTRY.byteSize(),
                KVM_MSRS.byteAlignment());
        s.set(U32, NMSRS, count);
        return s;
    }

    private static long entry(int i) {
        return MSR_ENTRIES + i * KVM_MSR_ENTRY.byteSize();
    }

    /** The CPUID the guest sees; usually {@code Kvm.supportedCpuid()} with a few leaves adjusted. */
    public void setCpuid2(List<CpuidEntry> entries) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KVM_CPUID2.byteSize() + entries.size() * KVM_CPUID_ENTRY2.byteSize(),
                    KVM_CPUID2.byteAlignment());
            s.set(U32, NENT, entries.size());
            Kvm.Cpuid.write(entries, s.asSlice(CPUID_ENTRIES));
            fd.ioctl(KvmIoctls.KVM_SET_CPUID2, s);
        }
    }

    /** The guest TSC frequency in kHz (KVM_CAP_GET_TSC_KHZ). */
    public int getTscKhz() {
        return fd.ioctl(KvmIoctls.KVM_GET_TSC_KHZ, 0);
    }

    public void setTscKhz(int khz) {
        fd.ioctl(KvmIoctls.KVM_SET_TSC_KHZ, khz);
    }

    /** Tells a kvmclock guest it was paused, so its soft-lockup watchdog does not fire (EINVAL without kvmclock). */
    public void kvmclockCtrl() {
        fd.ioctl(KvmIoctls.KVM_KVMCLOCK_CTRL, 0);
    }

    private byte[] getBytes(Ioctl request, MemoryLayout layout) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(layout);
            fd.ioctl(request, s);
            return s.toArray(U8);
        }
    }

    private void setBytes(Ioctl request, MemoryLayout layout, byte[] bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(layout);
            MemorySegment.copy(bytes, 0, s, U8, 0, bytes.length);
            fd.ioctl(request, s);
        }
    }

    /** Unmaps kvm_run (later exits' data segments become inaccessible) and closes the fd. */
    @Override
    public void close() {
        runMapping.close();
        fd.close();
    }
}
