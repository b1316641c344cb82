package dev.sandbox.engine.vmm.arch;

import dev.sandbox.engine.vmm.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PageTablesTest {
    @Test
    void identityMapsTheFirstGibWithTwoMibPages() {
        GuestMemory memory = ArchTestSupport.memory();
        assertEquals(Layout.PML4_START, PageTables.write(memory));
        assertEquals(0xa003L, memory.readU64(Layout.PML4_START));
        assertEquals(0L, memory.readU64(Layout.PML4_START + 8));
        assertEquals(0xb003L, memory.readU64(Layout.PDPT_START));
        assertEquals(0x83L, memory.readU64(Layout.PD_START));
        assertEquals(0x20_0083L, memory.readU64(Layout.PD_START + 8));
        assertEquals(0x3fe0_0083L, memory.readU64(Layout.PD_START + 511 * 8));
    }
}
