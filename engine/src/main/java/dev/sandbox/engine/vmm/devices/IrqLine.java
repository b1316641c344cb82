package dev.sandbox.engine.vmm.devices;

/** An edge-triggered interrupt line to the guest; with KVM, a write to the line's irqfd. Must be thread-safe. */
@FunctionalInterface
public interface IrqLine {
    void trigger();
}
