package dev.sandbox.engine.vmm.memory;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GuestMemoryTest {
    private final GuestMemory memory = GuestMemory.wrap(MemorySegment.ofArray(new byte[0x1000]));

    @Test
    void readsAndWritesLittleEndianValues() {
        memory.writeU64(0x10, 0x0102_0304_0506_0708L);
        assertEquals(0x08, memory.readU8(0x10));
        assertEquals(0x0708, memory.readU16(0x10));
        assertEquals(0x0506_0708L, memory.readU32(0x10));
        assertEquals(0x0102_0304_0506_0708L, memory.readU64(0x10));
        memory.writeU32(0x20, 0xfee0_0000L);
        assertEquals(0xfee0_0000L, memory.readU32(0x20)); // unsigned
        memory.writeU16(0x30, 0xffff);
        assertEquals(0xffff, memory.readU16(0x30));
    }

    @Test
    void copiesByteRangesAndSlices() {
        memory.write(0xff0, new byte[] {1, 2, 3});
        assertArrayEquals(new byte[] {1, 2, 3}, memory.read(0xff0, 3));
        memory.slice(0xff0, 16).fill((byte) 7);
        assertEquals(7, memory.readU8(0xfff));
    }

    @Test
    void rejectsEveryOutOfRangeAccessWithATypedException() {
        assertThrows(GuestMemoryException.class, () -> memory.readU8(0x1000));
        assertThrows(GuestMemoryException.class, () -> memory.readU32(0xffd));
        assertThrows(GuestMemoryException.class, () -> memory.readU64(-8));
        assertThrows(GuestMemoryException.class, () -> memory.writeU64(Long.MAX_VALUE, 0));
        assertThrows(GuestMemoryException.class, () -> memory.slice(0x800, Long.MAX_VALUE));
        assertThrows(GuestMemoryException.class, () -> memory.slice(Long.MAX_VALUE - 1, 2)); // would overflow
        assertThrows(GuestMemoryException.class, () -> memory.read(0xfff, 2));
        assertThrows(GuestMemoryException.class, () -> memory.fill(0x10, -1, (byte) 0));
        GuestMemoryException e = assertThrows(GuestMemoryException.class, () -> memory.write(0x1000, new byte[1]));
        assertEquals(0x1000, e.address());
        assertEquals(1, e.length());
    }

    @Test
    void containsIsExactAtTheEdges() {
        assertTrue(memory.contains(0, 0x1000));
        assertTrue(memory.contains(0x1000, 0));
        assertFalse(memory.contains(0x1000, 1));
        assertFalse(memory.contains(1, 0x1000));
        assertFalse(memory.contains(-1, 1));
    }

    @Test
    void refusesMemoryReachingIntoTheMmioGap() {
        assertThrows(IllegalArgumentException.class, () -> GuestMemory.wrap(MemorySegment.ofArray(new byte[0])));
        try (Arena arena = Arena.ofConfined()) {
            GuestMemory allocated = GuestMemory.allocate(arena, 2 << 20);
            assertEquals(2 << 20, allocated.size());
            MemorySegment huge = MemorySegment.NULL.reinterpret(0xd000_0001L); // never accessed: only its size matters
            assertThrows(IllegalArgumentException.class, () -> GuestMemory.wrap(huge));
        }
    }
}
