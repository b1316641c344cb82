package dev.sandbox.engine.vmm.devices.virtio.net;

import java.lang.foreign.MemorySegment;

/**
 * An unplugged cable, for a sandbox without a network: every packet the guest sends is refused (the device counts it
 * in {@link NetMetrics#txDropped()}) and nothing ever arrives. The guest still sees its NIC with the link up, so a
 * guest booted without a network has the same devices, and the same snapshot, as one with a network.
 */
public final class DisconnectedBackend implements NetBackend {
    @Override
    public int receive(MemorySegment buffer) {
        return -1;
    }

    @Override
    public boolean send(MemorySegment packet) {
        return false;
    }

    @Override
    public String toString() {
        return "DisconnectedBackend";
    }
}
