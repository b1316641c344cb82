package dev.sandbox.ffi.kvm;

import java.util.Arrays;

/**
 * Extended control registers (XCR0). Kept as the raw bytes of {@code struct kvm_xcrs}: saved and restored whole.
 */
public record Xcrs(byte[] bytes) {
    public Xcrs {
        bytes = Structs.checkedCopy(bytes, KvmAbi.KVM_XCRS);
    }

    /** A copy of the bytes. */
    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Xcrs other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "Xcrs[" + bytes.length + " bytes]";
    }
}
