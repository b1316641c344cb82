package dev.sandbox.ffi.kvm;

import java.util.Arrays;

/**
 * Pending exceptions, interrupts, NMI and SMI of a vCPU. Kept as the raw bytes of {@code struct kvm_vcpu_events}: saved and restored whole.
 */
public record VcpuEvents(byte[] bytes) {
    public VcpuEvents {
        bytes = Structs.checkedCopy(bytes, KvmAbi.KVM_VCPU_EVENTS);
    }

    /** A copy of the bytes. */
    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VcpuEvents other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "VcpuEvents[" + bytes.length + " bytes]";
    }
}
