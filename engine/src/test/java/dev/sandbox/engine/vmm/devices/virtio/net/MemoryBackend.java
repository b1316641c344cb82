package dev.sandbox.engine.vmm.devices.virtio.net;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/** A {@link NetBackend} of two lists: packets queued for the guest, packets the guest sent. */
final class MemoryBackend implements NetBackend {
    final ArrayDeque<byte[]> toGuest = new ArrayDeque<>();
    final List<byte[]> fromGuest = new ArrayList<>();
    boolean refuse;
    RuntimeException failure;

    @Override
    public int receive(MemorySegment buffer) {
        byte[] packet = toGuest.poll();
        if (packet == null) {
            return -1;
        }
        MemorySegment.copy(packet, 0, buffer, ValueLayout.JAVA_BYTE, 0, packet.length);
        return packet.length;
    }

    @Override
    public boolean send(MemorySegment packet) {
        if (failure != null) {
            throw failure;
        }
        if (refuse) {
            return false;
        }
        fromGuest.add(packet.toArray(ValueLayout.JAVA_BYTE));
        return true;
    }
}
