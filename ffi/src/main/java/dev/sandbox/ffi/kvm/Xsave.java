package dev.sandbox.ffi.kvm;

import java.util.Arrays;

/**
 * Extended (XSAVE-format) FPU state, the legacy 4 KiB area. Kept as the raw bytes of {@code struct kvm_xsave}: saved and restored whole.
 */
public record Xsave(byte[] bytes) {
    public Xsave {
        bytes = Structs.checkedCopy(bytes, KvmAbi.KVM_XSAVE);
    }

    /** A copy of the bytes. */
    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Xsave other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "Xsave[" + bytes.length + " bytes]";
    }
}
