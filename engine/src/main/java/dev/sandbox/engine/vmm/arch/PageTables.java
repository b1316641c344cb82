package dev.sandbox.engine.vmm.arch;

import dev.sandbox.engine.vmm.memory.GuestMemory;

/**
 * Boot page tables: the first GiB identity-mapped with 2 MiB pages (one PML4 entry, one PDPT entry, 512 PD entries),
 * enough for the kernel, zero page and command line until the kernel builds its own tables.
 */
public final class PageTables {
    static final long PRESENT = 1;
    static final long WRITABLE = 1 << 1;
    static final long PAGE_SIZE_2M = 1 << 7;
    static final int ENTRIES = 512;
    static final long HUGE_PAGE = 2L << 20;

    private PageTables() {
    }

    /** Writes the tables at their {@link Layout} addresses and returns the CR3 value. */
    public static long write(GuestMemory memory) {
        memory.fill(Layout.PML4_START, 4096, (byte) 0);
        memory.fill(Layout.PDPT_START, 4096, (byte) 0);
        memory.writeU64(Layout.PML4_START, Layout.PDPT_START | PRESENT | WRITABLE);
        memory.writeU64(Layout.PDPT_START, Layout.PD_START | PRESENT | WRITABLE);
        for (int i = 0; i < ENTRIES; i++) {
            memory.writeU64(Layout.PD_START + i * 8L, i * HUGE_PAGE | PRESENT | WRITABLE | PAGE_SIZE_2M);
        }
        return Layout.PML4_START;
    }
}
