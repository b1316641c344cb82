package dev.sandbox.engine.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

class SlotAllocatorTest {
    @Test
    void nextFitHandsAFreedSlotOutOnlyAfterTheOthers() {
        SlotAllocator slots = new SlotAllocator(4);
        assertEquals(0, slots.allocate());
        assertEquals(1, slots.allocate());
        slots.release(0);
        assertEquals(2, slots.allocate());
        assertEquals(3, slots.allocate());
        assertEquals(0, slots.allocate(), "wraps around to the freed one");
        assertEquals(4, slots.inUse());
        NetworkException full = assertThrows(NetworkException.class, slots::allocate);
        assertTrue(full.getMessage().contains("all 4"), full.getMessage());
    }

    @Test
    void reservedSlotsAreSkippedAndCannotBeTakenTwice() {
        SlotAllocator slots = new SlotAllocator(8);
        slots.reserve(0);
        slots.reserve(2);
        assertTrue(slots.isUsed(2));
        assertEquals(1, slots.allocate());
        assertEquals(3, slots.allocate());
        assertThrows(IllegalStateException.class, () -> slots.reserve(3));
        assertThrows(IllegalArgumentException.class, () -> slots.reserve(8));
        slots.release(2);
        assertFalse(slots.isUsed(2));
        assertThrows(IllegalStateException.class, () -> slots.release(2), "a double release is a bug");
    }

    @Test
    void concurrentAllocationsNeverShareASlot() throws Exception {
        SlotAllocator slots = new SlotAllocator(1000);
        Set<Integer> taken = ConcurrentHashMap.newKeySet();
        try (var pool = Executors.newFixedThreadPool(8)) {
            for (int i = 0; i < 1000; i++) {
                pool.submit(() -> taken.add(slots.allocate()));
            }
        }
        assertEquals(1000, taken.size());
        assertEquals(new HashSet<>(taken).size(), slots.inUse());
    }
}
