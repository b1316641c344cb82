package dev.sandbox.engine.vmm.arch;

import java.lang.foreign.MemorySegment;
import java.util.OptionalLong;

/** A kernel image copied into guest memory, with what the boot code needs to start it. */
public sealed interface LoadedKernel {
    /** Guest physical address of the 64-bit entry point. */
    long entry();

    /** First guest physical address above everything the kernel occupies (image, bss, decompression room). */
    long end();

    /**
     * An uncompressed ELF {@code vmlinux}, loaded at its segments' physical addresses.
     *
     * @param pvhEntry 32-bit PVH entry from the XEN_ELFNOTE_PHYS32_ENTRY note, when the kernel has one
     */
    record Elf(long entry, long end, OptionalLong pvhEntry) implements LoadedKernel {
    }

    /**
     * A bzImage whose protected-mode part was loaded at {@link Layout#KERNEL_START}.
     *
     * @param setupHeader a copy of the image's setup header (zero-page offset 0x1f1 onwards), for {@link BootParams}
     */
    record BzImage(long entry, long end, MemorySegment setupHeader) implements LoadedKernel {
    }
}
