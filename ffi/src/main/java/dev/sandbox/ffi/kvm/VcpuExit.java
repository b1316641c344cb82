package dev.sandbox.ffi.kvm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.lang.foreign.MemorySegment;

/**
 * Why {@code KVM_RUN} returned: a closed set, so a {@code switch} over it must handle every kind.
 *
 * <p>The {@code data} segments of {@link Io} and {@link Mmio} are slices of the vCPU's {@code kvm_run} page,
 * bounded to the access: write the answer of an IN or an MMIO read there before the next run. They are valid only
 * until that next run.
 */
public sealed interface VcpuExit {
    /** IN reads from the device into the guest; OUT writes from the guest to the device. */
    enum Direction { IN, OUT }

    /** Port I/O: {@code count} accesses of {@code size} bytes each (count > 1 only for string I/O). */
    record Io(int port, Direction direction, int size, int count, MemorySegment data) implements VcpuExit {
        /** The first access's value, little-endian. */
        public long value() {
            return read(data, size);
        }

        /** Sets the first access's value, the answer to an IN. */
        public void setValue(long value) {
            write(data, size, value);
        }
    }

    /** A guest access to an address no memory slot backs. */
    record Mmio(long address, int length, boolean isWrite, MemorySegment data) implements VcpuExit {
        /** The value written (or the answer set so far), little-endian, for lengths 1, 2, 4 and 8. */
        public long value() {
            return read(data, length);
        }

        /** Sets the answer to a read. */
        public void setValue(long value) {
            write(data, length, value);
        }
    }

    record Hlt() implements VcpuExit {}

    /** Triple fault or similar: the guest is gone. */
    record Shutdown() implements VcpuExit {}

    /** The CPU refused to enter the guest; {@code hardwareReason} is VMX/SVM specific. */
    record FailEntry(long hardwareReason, int cpu) implements VcpuExit {}

    /** KVM could not handle an exit (e.g. emulation failure: suberror KVM_INTERNAL_ERROR_EMULATION). */
    record InternalError(int suberror, long[] data) implements VcpuExit {}

    /** Guest-requested shutdown, reset or crash (type KVM_SYSTEM_EVENT_*). */
    record SystemEvent(int type, long flags) implements VcpuExit {}

    /** Interrupted by a signal or {@code immediate_exit}: a kick. Nothing to handle; check commands, run again. */
    record Intr() implements VcpuExit {}

    /** Any exit reason not modelled above (KVM_EXIT_*). */
    record Unknown(int reason) implements VcpuExit {}

    private static long read(MemorySegment data, int size) {
        return switch (size) {
            case 1 -> Byte.toUnsignedLong(data.get(JAVA_BYTE, 0));
            case 2 -> Short.toUnsignedLong(data.get(JAVA_SHORT_UNALIGNED, 0));
            case 4 -> Integer.toUnsignedLong(data.get(JAVA_INT_UNALIGNED, 0));
            case 8 -> data.get(JAVA_LONG_UNALIGNED, 0);
            default -> throw new IllegalStateException("no single value of " + size + " bytes");
        };
    }

    private static void write(MemorySegment data, int size, long value) {
        switch (size) {
            case 1 -> data.set(JAVA_BYTE, 0, (byte) value);
            case 2 -> data.set(JAVA_SHORT_UNALIGNED, 0, (short) value);
            case 4 -> data.set(JAVA_INT_UNALIGNED, 0, (int) value);
            case 8 -> data.set(JAVA_LONG_UNALIGNED, 0, value);
            default -> throw new IllegalStateException("no single value of " + size + " bytes");
        }
    }
}
