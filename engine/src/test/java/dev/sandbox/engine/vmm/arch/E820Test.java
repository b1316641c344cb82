package dev.sandbox.engine.vmm.arch;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class E820Test {
    @Test
    void mapsLowRamReservedBiosAreaAndHighRam() {
        List<E820Entry> map = E820.forMemory(128L << 20);
        assertEquals(List.of(
                new E820Entry(0, 0x9fc00, E820Entry.Type.RAM),
                new E820Entry(0x9fc00, 0x100000 - 0x9fc00, E820Entry.Type.RESERVED),
                new E820Entry(0x100000, (128L << 20) - 0x100000, E820Entry.Type.RAM)), map);
        assertEquals(128L << 20, map.get(2).end());
    }

    @Test
    void rejectsMemoryTooSmallOrIntoTheMmioGap() {
        assertThrows(IllegalArgumentException.class, () -> E820.forMemory(1L << 20));
        assertThrows(IllegalArgumentException.class, () -> E820.forMemory(0xd000_0000L + 4096));
        assertEquals(3, E820.forMemory(0xd000_0000L).size());
    }
}
