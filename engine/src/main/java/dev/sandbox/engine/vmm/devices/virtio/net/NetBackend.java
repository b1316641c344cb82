package dev.sandbox.engine.vmm.devices.virtio.net;

import java.lang.foreign.MemorySegment;

/**
 * The host side of a {@link VirtioNet} device: where the guest's packets go and where packets for the guest come
 * from. A packet is a {@link NetHeader} followed by an Ethernet frame in both directions, which is what a TAP opened
 * with {@code IFF_VNET_HDR} and a 12-byte header size reads and writes, so a TAP backend passes packets through.
 *
 * <p>The device calls these with its lock held, from a vCPU thread or its device thread: they must not block, and
 * a failure is answered with -1 or false, not an exception (the device counts an exception as a drop anyway).
 */
public interface NetBackend {
    /**
     * Reads the next packet for the guest into {@code buffer} (native, {@link VirtioNet#MAX_PACKET} bytes) and
     * returns its length, or -1 when none is waiting.
     */
    int receive(MemorySegment buffer);

    /** Takes one packet from the guest; false when the host side cannot take it now, and the device drops it. */
    boolean send(MemorySegment packet);
}
