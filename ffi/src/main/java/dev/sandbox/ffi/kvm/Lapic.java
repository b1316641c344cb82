package dev.sandbox.ffi.kvm;

import java.util.Arrays;

/**
 * The local APIC's register page. Kept as the raw bytes of {@code struct kvm_lapic_state}: saved and restored whole.
 */
public record Lapic(byte[] bytes) {
    public Lapic {
        bytes = Structs.checkedCopy(bytes, KvmAbi.KVM_LAPIC_STATE);
    }

    /** A copy of the bytes. */
    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    /** The 32-bit register at {@code offset} of the APIC page (e.g. 0x350 for LVT LINT0). */
    public int register(int offset) {
        return java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(offset);
    }

    /** A copy with the 32-bit register at {@code offset} set to {@code value}. */
    public Lapic withRegister(int offset, int value) {
        byte[] copy = bytes.clone();
        java.nio.ByteBuffer.wrap(copy).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(offset, value);
        return new Lapic(copy);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Lapic other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "Lapic[" + bytes.length + " bytes]";
    }
}
