package dev.sandbox.ffi.kvm;

import static dev.sandbox.ffi.kvm.KvmAbi.KVM_RUN;
import static dev.sandbox.ffi.kvm.KvmAbi.U16;
import static dev.sandbox.ffi.kvm.KvmAbi.U32;
import static dev.sandbox.ffi.kvm.KvmAbi.U64;
import static dev.sandbox.ffi.kvm.KvmAbi.U8;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/** Reads exits out of, and writes requests into, a vCPU's mmapped {@code struct kvm_run}. */
final class KvmRun {
    private static final String EXIT = "anon_exit";
    private static final long IMMEDIATE_EXIT = Structs.offset(KVM_RUN, "immediate_exit");
    private static final long EXIT_REASON = Structs.offset(KVM_RUN, "exit_reason");
    private static final long IO_DIRECTION = Structs.offset(KVM_RUN, EXIT, "io", "direction");
    private static final long IO_SIZE = Structs.offset(KVM_RUN, EXIT, "io", "size");
    private static final long IO_PORT = Structs.offset(KVM_RUN, EXIT, "io", "port");
    private static final long IO_COUNT = Structs.offset(KVM_RUN, EXIT, "io", "count");
    private static final long IO_DATA_OFFSET = Structs.offset(KVM_RUN, EXIT, "io", "data_offset");
    private static final long MMIO_ADDR = Structs.offset(KVM_RUN, EXIT, "mmio", "phys_addr");
    private static final long MMIO_DATA = Structs.offset(KVM_RUN, EXIT, "mmio", "data");
    private static final long MMIO_DATA_SIZE = 8;
    private static final long MMIO_LEN = Structs.offset(KVM_RUN, EXIT, "mmio", "len");
    private static final long MMIO_IS_WRITE = Structs.offset(KVM_RUN, EXIT, "mmio", "is_write");
    private static final long FAIL_REASON = Structs.offset(KVM_RUN, EXIT, "fail_entry",
            "hardware_entry_failure_reason");
    private static final long FAIL_CPU = Structs.offset(KVM_RUN, EXIT, "fail_entry", "cpu");
    private static final long INTERNAL_SUBERROR = Structs.offset(KVM_RUN, EXIT, "internal", "suberror");
    private static final long INTERNAL_NDATA = Structs.offset(KVM_RUN, EXIT, "internal", "ndata");
    private static final long INTERNAL_DATA = Structs.offset(KVM_RUN, EXIT, "internal", "data");
    private static final int INTERNAL_DATA_MAX = 16;
    private static final long EVENT_TYPE = Structs.offset(KVM_RUN, EXIT, "system_event", "type");
    private static final long EVENT_FLAGS = Structs.offset(KVM_RUN, EXIT, "system_event", "anon_flags", "flags");
    // Written by kicking threads while the vCPU thread is in KVM_RUN: a volatile store, not a plain one.
    private static final VarHandle BYTE = U8.varHandle();

    private final MemorySegment run;

    KvmRun(MemorySegment run) {
        if (run.byteSize() < KVM_RUN.byteSize()) {
            throw new IllegalArgumentException("kvm_run mapping too small: " + run.byteSize());
        }
        this.run = run;
    }

    void setImmediateExit(boolean on) {
        BYTE.setVolatile(run, IMMEDIATE_EXIT, (byte) (on ? 1 : 0));
    }

    boolean immediateExit() {
        return (byte) BYTE.getVolatile(run, IMMEDIATE_EXIT) != 0;
    }

    /** Decodes the exit KVM_RUN just reported. */
    VcpuExit exit() {
        int reason = run.get(U32, EXIT_REASON);
        return switch (reason) {
            case KvmConstants.KVM_EXIT_IO -> io();
            case KvmConstants.KVM_EXIT_MMIO -> {
                int len = run.get(U32, MMIO_LEN);
                // KVM never reports more than the 8 data bytes; the slice throws rather than overrun if it did.
                MemorySegment data = run.asSlice(MMIO_DATA, MMIO_DATA_SIZE).asSlice(0, len);
                yield new VcpuExit.Mmio(run.get(U64, MMIO_ADDR), len, run.get(U8, MMIO_IS_WRITE) != 0, data);
            }
            case KvmConstants.KVM_EXIT_HLT -> new VcpuExit.Hlt();
            case KvmConstants.KVM_EXIT_SHUTDOWN -> new VcpuExit.Shutdown();
            case KvmConstants.KVM_EXIT_FAIL_ENTRY ->
                    new VcpuExit.FailEntry(run.get(U64, FAIL_REASON), run.get(U32, FAIL_CPU));
            case KvmConstants.KVM_EXIT_INTERNAL_ERROR -> {
                int n = Math.clamp(Integer.toUnsignedLong(run.get(U32, INTERNAL_NDATA)), 0, INTERNAL_DATA_MAX);
                yield new VcpuExit.InternalError(run.get(U32, INTERNAL_SUBERROR),
                        run.asSlice(INTERNAL_DATA, n * 8L).toArray(U64));
            }
            case KvmConstants.KVM_EXIT_SYSTEM_EVENT ->
                    new VcpuExit.SystemEvent(run.get(U32, EVENT_TYPE), run.get(U64, EVENT_FLAGS));
            case KvmConstants.KVM_EXIT_INTR -> new VcpuExit.Intr();
            default -> new VcpuExit.Unknown(reason);
        };
    }

    private VcpuExit io() {
        int size = Byte.toUnsignedInt(run.get(U8, IO_SIZE));
        int count = run.get(U32, IO_COUNT);
        long offset = run.get(U64, IO_DATA_OFFSET);
        MemorySegment data = run.asSlice(offset, (long) size * Integer.toUnsignedLong(count));
        VcpuExit.Direction dir = run.get(U8, IO_DIRECTION) == KvmConstants.KVM_EXIT_IO_OUT
                ? VcpuExit.Direction.OUT : VcpuExit.Direction.IN;
        return new VcpuExit.Io(Short.toUnsignedInt(run.get(U16, IO_PORT)), dir, size, count, data);
    }
}
