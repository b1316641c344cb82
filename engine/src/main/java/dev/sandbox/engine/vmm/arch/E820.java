package dev.sandbox.engine.vmm.arch;

import java.util.List;

/** The memory map the guest sees: conventional RAM, the reserved EBDA/VGA/BIOS area, then RAM from 1 MiB. */
public final class E820 {
    private E820() {
    }

    /** The e820 map for {@code memorySize} bytes of guest RAM, which must extend past 1 MiB and stay below the MMIO gap. */
    public static List<E820Entry> forMemory(long memorySize) {
        if (memorySize <= Layout.HIMEM_START || memorySize > Layout.MMIO_GAP_START) {
            throw new IllegalArgumentException("guest memory 0x%x must be in (0x%x, 0x%x]"
                    .formatted(memorySize, Layout.HIMEM_START, Layout.MMIO_GAP_START));
        }
        return List.of(
                new E820Entry(0, Layout.EBDA_START, E820Entry.Type.RAM),
                // Keeps the MP table (in the EBDA) and the legacy VGA/BIOS range away from the kernel's allocator.
                new E820Entry(Layout.EBDA_START, Layout.HIMEM_START - Layout.EBDA_START, E820Entry.Type.RESERVED),
                new E820Entry(Layout.HIMEM_START, memorySize - Layout.HIMEM_START, E820Entry.Type.RAM));
    }
}
