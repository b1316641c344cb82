package dev.sandbox.ffi.kvm;

import java.util.Arrays;

/**
 * One in-kernel interrupt controller's state: {@code struct kvm_irqchip}. {@code chipId} is
 * {@link KvmConstants#KVM_IRQCHIP_PIC_MASTER}, {@code _PIC_SLAVE} or {@code _IOAPIC}; {@code state} is the raw
 * 512-byte union, saved and restored whole.
 */
public record Irqchip(int chipId, byte[] state) {
    static final long STATE_SIZE = 512;

    public Irqchip {
        if (state.length != STATE_SIZE) {
            throw new IllegalArgumentException("irqchip state needs " + STATE_SIZE + " bytes, got " + state.length);
        }
        state = state.clone();
    }

    /** A copy of the state bytes. */
    @Override
    public byte[] state() {
        return state.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Irqchip other && chipId == other.chipId && Arrays.equals(state, other.state);
    }

    @Override
    public int hashCode() {
        return 31 * chipId + Arrays.hashCode(state);
    }

    @Override
    public String toString() {
        return "Irqchip[chipId=" + chipId + "]";
    }
}
