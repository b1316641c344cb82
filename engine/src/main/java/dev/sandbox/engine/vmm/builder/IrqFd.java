package dev.sandbox.engine.vmm.builder;

import dev.sandbox.engine.vmm.devices.IrqLine;
import dev.sandbox.ffi.EventFd;
import dev.sandbox.ffi.kvm.VmFd;

/**
 * An edge-triggered guest interrupt through KVM's irqfd: a write to the eventfd pulses the GSI on the in-kernel
 * IOAPIC/PIC, from any thread and without a VM exit or a lock of ours.
 */
final class IrqFd implements IrqLine, AutoCloseable {
    private final EventFd event;

    private IrqFd(EventFd event) {
        this.event = event;
    }

    static IrqFd register(VmFd vm, int gsi) {
        EventFd event = EventFd.create(true);
        try {
            vm.irqfd(event, gsi);
        } catch (RuntimeException e) {
            event.close();
            throw e;
        }
        return new IrqFd(event);
    }

    @Override
    public void trigger() {
        try {
            event.write(1);
        } catch (IllegalStateException closed) {
            // the VM is being torn down: nobody is left to interrupt
        }
    }

    @Override
    public void close() {
        event.close(); // KVM keeps its own reference until the VM goes
    }
}
