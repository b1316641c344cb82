package dev.sandbox.engine.vmm.arch;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BootRegsTest {
    @Test
    void entersLongModeWithPagingAtTheKernelEntry() {
        BootRegs boot = BootRegs.linux64(0x100_0000, Layout.PML4_START);
        assertEquals(new BootRegs.Regs(0x100_0000, 0x8ff0, 0x8ff0, 0x7000, 2), boot.regs());
        BootRegs.Sregs s = boot.sregs();
        assertEquals(0x8000_0011L, s.cr0());
        assertEquals(0x9000L, s.cr3());
        assertEquals(0x20L, s.cr4());
        assertEquals(0x500L, s.efer());
        assertEquals(new BootRegs.DescriptorTable(0x500, 31), s.gdt());
        assertEquals(new BootRegs.DescriptorTable(0x520, 7), s.idt());
        assertEquals(Gdt.CODE, s.cs());
        assertTrue(s.cs().l());
        assertEquals(Gdt.DATA, s.ss());
        assertEquals(Gdt.TSS, s.tr());
        assertEquals(new BootRegs.Fpu(0x37f, 0x1f80), boot.fpu());
    }

    @Test
    void bootMsrsMatchFirecrackersSet() {
        assertEquals(11, Msrs.BOOT.size());
        assertTrue(Msrs.BOOT.contains(new MsrEntry(0x2ff, 0x806)));
        assertTrue(Msrs.BOOT.contains(new MsrEntry(0x1a0, 1)));
        assertTrue(Msrs.BOOT.contains(new MsrEntry(0xc000_0082, 0)));
    }
}
