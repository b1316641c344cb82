package dev.sandbox.engine.vmm.devices.virtio;

import dev.sandbox.engine.vmm.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DescriptorChainTest {
    private final GuestMemory memory = GuestMemory.wrap(MemorySegment.ofArray(new byte[1 << 16]));
    private final DescriptorChain chain = new DescriptorChain(3,
            List.of(new Descriptor(0x100, 4, false), new Descriptor(0x200, 0, false), new Descriptor(0x300, 6, false)),
            List.of(new Descriptor(0x400, 8, true), new Descriptor(0x500, 1, true)));

    @Test
    void readableSlicesViewExactlyTheRequestedRangeAcrossBuffers() {
        memory.write(0x100, new byte[] {1, 2, 3, 4});
        memory.write(0x300, new byte[] {5, 6, 7, 8, 9, 10});
        List<MemorySegment> slices = chain.readableSlices(memory, 2, 5);
        assertEquals(2, slices.size(), "the empty buffer contributes no view");
        assertArrayEquals(new byte[] {3, 4}, slices.get(0).toArray(ValueLayout.JAVA_BYTE));
        assertArrayEquals(new byte[] {5, 6, 7}, slices.get(1).toArray(ValueLayout.JAVA_BYTE));
        assertTrue(chain.readableSlices(memory, 10, 0).isEmpty());
    }

    @Test
    void writesThroughWritableSlicesReachTheGuest() {
        List<MemorySegment> slices = chain.writableSlices(memory, 0, 8);
        assertEquals(1, slices.size(), "the status byte's buffer is left out");
        slices.getFirst().fill((byte) 7);
        assertArrayEquals(new byte[] {7, 7, 7, 7, 7, 7, 7, 7, 0}, memory.read(0x400, 9));
    }

    @Test
    void rangesPastTheBuffersOrNegativeAreRefused() {
        assertThrows(VirtqueueException.class, () -> chain.readableSlices(memory, 0, 11));
        assertThrows(VirtqueueException.class, () -> chain.writableSlices(memory, 10, 0));
        assertThrows(VirtqueueException.class, () -> chain.writableSlices(memory, -1, 1));
        assertThrows(VirtqueueException.class, () -> chain.writableSlices(memory, 1, Long.MAX_VALUE));
    }
}
