package dev.sandbox.engine.vmm.arch;

/**
 * Register values for entering a 64-bit Linux kernel directly in long mode (boot.rst, "64-bit boot protocol"): paging
 * on with the boot identity map, flat segments from the boot GDT, RSI pointing at the zero page.
 */
public record BootRegs(Regs regs, Sregs sregs, Fpu fpu) {
    static final long CR0_PE = 1;
    static final long CR0_ET = 1 << 4;
    static final long CR0_PG = 1L << 31;
    static final long CR4_PAE = 1 << 5;
    static final long EFER_LME = 1 << 8;
    static final long EFER_LMA = 1 << 10;
    /** RFLAGS bit 1 is reserved and always set. */
    static final long RFLAGS_RESERVED = 2;

    /** General-purpose registers (the rest are zero). */
    public record Regs(long rip, long rsp, long rbp, long rsi, long rflags) {
    }

    /** A GDTR/IDTR value. */
    public record DescriptorTable(long base, int limit) {
    }

    /** Segment and control registers. */
    public record Sregs(Segment cs, Segment ds, Segment es, Segment fs, Segment gs, Segment ss, Segment tr,
                        DescriptorTable gdt, DescriptorTable idt, long cr0, long cr3, long cr4, long efer) {
    }

    /** FPU control word and MXCSR at their reset values (x87 exceptions masked, SSE exceptions masked). */
    public record Fpu(int fcw, int mxcsr) {
    }

    /** Registers for the boot vCPU entering the kernel at {@code entry}, with page tables rooted at {@code cr3}. */
    public static BootRegs linux64(long entry, long cr3) {
        Regs regs = new Regs(entry, Layout.BOOT_STACK_POINTER, Layout.BOOT_STACK_POINTER, Layout.ZERO_PAGE_START,
                RFLAGS_RESERVED);
        Sregs sregs = new Sregs(Gdt.CODE, Gdt.DATA, Gdt.DATA, Gdt.DATA, Gdt.DATA, Gdt.DATA, Gdt.TSS,
                new DescriptorTable(Layout.GDT_START, Gdt.LIMIT), new DescriptorTable(Layout.IDT_START, 7),
                CR0_PE | CR0_ET | CR0_PG, cr3, CR4_PAE, EFER_LME | EFER_LMA);
        return new BootRegs(regs, sregs, new Fpu(0x37f, 0x1f80));
    }
}
