package dev.sandbox.engine.vmm.arch;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LayoutTest {
    @Test
    void virtioDevicesGetConsecutiveWindowsAndIrqsFromFive() {
        assertEquals(0xd000_0000L, Layout.virtioMmioBase(0));
        assertEquals(0xd000_2000L, Layout.virtioMmioBase(2));
        assertEquals(5, Layout.virtioIrq(0));
        assertEquals(23, Layout.virtioIrq(Layout.maxVirtioDevices() - 1));
        assertThrows(IllegalArgumentException.class, () -> Layout.virtioIrq(Layout.maxVirtioDevices()));
    }

    @Test
    void fixedRegionsDoNotOverlap() {
        assertTrue(Layout.GDT_START + 32 <= Layout.IDT_START);
        assertTrue(Layout.ZERO_PAGE_START + BootParams.SIZE <= Layout.PML4_START);
        assertTrue(Layout.BOOT_STACK_POINTER < Layout.PML4_START);
        assertTrue(Layout.PD_START + 4096 <= Layout.CMDLINE_START);
        assertTrue(Layout.CMDLINE_START + Layout.CMDLINE_MAX_SIZE <= Layout.MPTABLE_START);
        assertTrue(MpTable.size(MpTable.MAX_CPUS) <= Layout.MPTABLE_MAX_SIZE);
    }

    @Test
    void initrdGoesPageAlignedAtTheTopOfMemory() {
        assertEquals(0x7ff_e000L, Layout.initrdAddress(128L << 20, 0x1001, 0x200_0000L, 0x37ff_ffffL));
        assertEquals(0x1000_0000L - 0x1000, Layout.initrdAddress(1L << 30, 0x1000, 0x200_0000L, 0x0fff_ffffL));
        assertThrows(IllegalArgumentException.class,
                () -> Layout.initrdAddress(32L << 20, 31L << 20, 0x200_0000L, 0x37ff_ffffL));
    }
}
