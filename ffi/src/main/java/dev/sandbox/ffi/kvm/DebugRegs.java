package dev.sandbox.ffi.kvm;

import java.util.Arrays;

/**
 * Debug registers DR0-3, DR6, DR7. Kept as the raw bytes of {@code struct kvm_debugregs}: saved and restored whole.
 */
public record DebugRegs(byte[] bytes) {
    public DebugRegs {
        bytes = Structs.checkedCopy(bytes, KvmAbi.KVM_DEBUGREGS);
    }

    /** A copy of the bytes. */
    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DebugRegs other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "DebugRegs[" + bytes.length + " bytes]";
    }
}
