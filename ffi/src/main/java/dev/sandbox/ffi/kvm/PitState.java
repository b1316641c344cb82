package dev.sandbox.ffi.kvm;

import java.util.Arrays;

/**
 * The in-kernel i8254 PIT's three channels and flags. Kept as the raw bytes of {@code struct kvm_pit_state2}: saved and restored whole.
 */
public record PitState(byte[] bytes) {
    public PitState {
        bytes = Structs.checkedCopy(bytes, KvmAbi.KVM_PIT_STATE2);
    }

    /** A copy of the bytes. */
    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PitState other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "PitState[" + bytes.length + " bytes]";
    }
}
