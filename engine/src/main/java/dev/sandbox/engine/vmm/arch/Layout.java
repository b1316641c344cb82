package dev.sandbox.engine.vmm.arch;

/**
 * Every fixed guest physical address the VMM uses, in one place (after Firecracker's {@code layout.rs}).
 *
 * <pre>
 * 0x0000_0500  GDT (4 entries)            0x0000_0520  IDT (one empty entry)
 * 0x0000_7000  zero page (boot_params)    0x0000_8ff0  initial stack pointer (grows down)
 * 0x0000_9000  PML4, 0xa000 PDPT, 0xb000 PD (identity map of the first GiB)
 * 0x0002_0000  kernel command line        0x0009_fc00  MP table (EBDA, reserved to 1 MiB)
 * 0x0010_0000  kernel (bzImage protected-mode code; an ELF loads at its own p_paddr above this)
 * top of RAM   initrd, page aligned       0xd000_0000  virtio-mmio windows, 4 KiB each, IRQ 5 upwards
 * </pre>
 */
public final class Layout {
    public static final long GDT_START = 0x500;
    public static final long IDT_START = 0x520;
    public static final long ZERO_PAGE_START = 0x7000;
    public static final long BOOT_STACK_POINTER = 0x8ff0;
    public static final long PML4_START = 0x9000;
    public static final long PDPT_START = 0xa000;
    public static final long PD_START = 0xb000;
    public static final long CMDLINE_START = 0x20000;
    /** Linux's x86 COMMAND_LINE_SIZE, including the terminating NUL. */
    public static final int CMDLINE_MAX_SIZE = 2048;

    /** Start of the extended BIOS data area; conventional RAM ends here. */
    public static final long EBDA_START = 0x9fc00;
    public static final long MPTABLE_START = EBDA_START;
    /** The MP table must fit below the VGA hole at 0xa0000. */
    public static final long MPTABLE_MAX_SIZE = 0xa0000 - MPTABLE_START;
    /** First address above the legacy BIOS area; the kernel loads here. */
    public static final long HIMEM_START = 0x10_0000;
    public static final long KERNEL_START = HIMEM_START;

    /** Start of the 32-bit MMIO gap (768 MiB below 4 GiB); guest RAM must end at or below it. */
    public static final long MMIO_GAP_START = 0xd000_0000L;
    public static final long MMIO_GAP_SIZE = 0x3000_0000L;
    public static final long VIRTIO_MMIO_START = MMIO_GAP_START;
    public static final long VIRTIO_MMIO_SIZE = 0x1000;
    /** Legacy IRQs 5..23 go to virtio devices; 4 is COM1, lower ones are the PIT, keyboard and cascade. */
    public static final int VIRTIO_IRQ_BASE = 5;
    public static final int IRQ_MAX = 23;

    public static final long IOAPIC_START = 0xfec0_0000L;
    public static final long APIC_START = 0xfee0_0000L;

    public static final int COM1_PORT = 0x3f8;
    public static final int COM1_IRQ = 4;
    public static final int I8042_PORT = 0x60;

    private Layout() {
    }

    /** MMIO window of the {@code n}-th virtio device. */
    public static long virtioMmioBase(int n) {
        checkVirtioSlot(n);
        return VIRTIO_MMIO_START + n * VIRTIO_MMIO_SIZE;
    }

    /** Legacy IRQ of the {@code n}-th virtio device. */
    public static int virtioIrq(int n) {
        checkVirtioSlot(n);
        return VIRTIO_IRQ_BASE + n;
    }

    /** Number of virtio devices the IRQ range allows. */
    public static int maxVirtioDevices() {
        return IRQ_MAX - VIRTIO_IRQ_BASE + 1;
    }

    /**
     * Where an initrd of {@code initrdSize} bytes goes: page aligned, as high as possible below both the end of RAM and
     * the kernel's {@code initrdAddressMax} (inclusive, from the setup header), above the kernel at {@code kernelEnd}.
     */
    public static long initrdAddress(long memorySize, long initrdSize, long kernelEnd, long initrdAddressMax) {
        long top = Math.min(Math.min(memorySize, MMIO_GAP_START), initrdAddressMax + 1);
        if (initrdSize <= 0 || initrdSize > top) {
            throw new IllegalArgumentException("initrd of %d bytes does not fit below 0x%x".formatted(initrdSize, top));
        }
        long address = (top - initrdSize) & ~0xfffL;
        if (address < kernelEnd) {
            throw new IllegalArgumentException(
                    "initrd of %d bytes would overlap the kernel ending at 0x%x".formatted(initrdSize, kernelEnd));
        }
        return address;
    }

    private static void checkVirtioSlot(int n) {
        if (n < 0 || n >= maxVirtioDevices()) {
            throw new IllegalArgumentException("virtio device slot " + n + " outside 0.." + (maxVirtioDevices() - 1));
        }
    }
}
