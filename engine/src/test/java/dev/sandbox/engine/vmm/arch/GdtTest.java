package dev.sandbox.engine.vmm.arch;

import dev.sandbox.engine.vmm.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GdtTest {
    @Test
    void packsTheBootDescriptors() {
        assertEquals(0x00af_9b00_0000_ffffL, (long) Gdt.BOOT_ENTRIES.get(1));
        assertEquals(0x00cf_9300_0000_ffffL, (long) Gdt.BOOT_ENTRIES.get(2));
        assertEquals(0x008f_8b00_0000_ffffL, (long) Gdt.BOOT_ENTRIES.get(3));
        assertEquals(31, Gdt.LIMIT);
    }

    @Test
    void unpacksDescriptorsIntoSegmentRegisters() {
        assertEquals(new Segment(0, 0xffff_ffff, 0x08, 0xb, true, 0, false, true, true, true, false), Gdt.CODE);
        assertEquals(new Segment(0, 0xffff_ffff, 0x10, 0x3, true, 0, true, true, false, true, false), Gdt.DATA);
        assertEquals(new Segment(0, 0xffff_ffff, 0x18, 0xb, true, 0, false, false, false, true, false), Gdt.TSS);
        Segment odd = Gdt.segment(Gdt.descriptor(0x40f3, 0x1234_5678L, 0xabcde), 5);
        assertEquals(0x1234_5678L, odd.base());
        assertEquals(0xabcde, odd.limit()); // byte granular
        assertEquals(3, odd.dpl());
        assertEquals(0x28, odd.selector());
        assertFalse(odd.unusable());
        assertTrue(Gdt.segment(0, 0).unusable());
    }

    @Test
    void writesTheTablesIntoGuestMemory() {
        GuestMemory memory = ArchTestSupport.memory();
        memory.writeU64(Layout.IDT_START, -1);
        Gdt.write(memory);
        assertEquals(0L, memory.readU64(Layout.GDT_START));
        assertEquals(0x00af_9b00_0000_ffffL, memory.readU64(Layout.GDT_START + 8));
        assertEquals(0L, memory.readU64(Layout.IDT_START));
    }
}
