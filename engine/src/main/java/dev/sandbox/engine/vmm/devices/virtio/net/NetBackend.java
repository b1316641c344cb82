package dev.sandbox.engine.vmm.devices.virtio.net;

import dev.sandbox.ffi.Pollable;

import java.lang.foreign.MemorySegment;
import java.util.Optional;

/**
 * The host side of a {@link VirtioNet} device: where the guest's packets go and where packets for the guest come
 * from. A packet is a {@link NetHeader} followed by an Ethernet frame in both directions, which is what a TAP opened
 * with {@code IFF_VNET_HDR} and a 12-byte header size reads and writes, so a TAP backend passes packets through.
 *
 * <p>The device calls these with its lock held, from a vCPU thread or its device thread: they must not block, and
 * a failure is answered with -1 or false, not an exception (the device counts an exception as a drop anyway).
 *
 * <p>A backend belongs to the microVM it is given to, which closes it with the VM.
 */
public interface NetBackend extends AutoCloseable {
    /**
     * Reads the next packet for the guest into {@code buffer} (native, {@link VirtioNet#MAX_PACKET} bytes) and
     * returns its length, or -1 when none is waiting.
     */
    int receive(MemorySegment buffer);

    /** Takes one packet from the guest; false when the host side cannot take it now, and the device drops it. */
    boolean send(MemorySegment packet);

    /**
     * What polls readable while {@link #receive} has a packet, for the thread that tells the device
     * ({@link VirtioNet#backendReadable()}); empty when packets never arrive on their own (nothing to watch).
     */
    default Optional<Pollable> readiness() {
        return Optional.empty();
    }

    /** Releases what the backend holds (a TAP's descriptor, and with it the interface). */
    @Override
    default void close() {
    }
}
