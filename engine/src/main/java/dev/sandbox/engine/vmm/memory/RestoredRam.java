package dev.sandbox.engine.vmm.memory;

import dev.sandbox.ffi.Mapping;
import dev.sandbox.ffi.PageMap;

import java.nio.file.Path;
import java.util.BitSet;

/**
 * A restored VM's RAM in layers, none of them ever written: the base file mapped copy-on-write over the whole RAM,
 * then each run of the delta (if any) mapped copy-on-write over its pages. Pages are read from the files as the
 * guest touches them, so a resume costs one mmap per run instead of a copy of the delta.
 */
public final class RestoredRam {
    private RestoredRam() {
    }

    /**
     * The layered mapping of {@code size} bytes; {@code delta} may be null. Closing it unmaps the base and every run
     * (one munmap of the range); if a step fails nothing stays mapped.
     */
    public static Mapping map(Path base, long size, DeltaRuns delta) {
        Mapping mapping = Mapping.ofFile(base, 0, size, Mapping.Sharing.PRIVATE, true);
        if (delta == null || delta.runs().isEmpty()) {
            return mapping;
        }
        try {
            mapping.overlay(delta.file(), delta.overlays(), Mapping.Sharing.PRIVATE, true);
            return mapping;
        } catch (RuntimeException e) {
            mapping.close(); // idempotent: overlay may have closed it already
            throw e;
        }
    }

    /**
     * Pages that differ from the base: those written since {@code mapping} was made (anonymous copies) and those the
     * mapped {@code delta} (may be null) brought.
     */
    public static BitSet changedPages(Mapping mapping, DeltaRuns delta) {
        BitSet pages = PageMap.writtenPages(mapping);
        if (delta != null) {
            pages.or(delta.pages());
        }
        return pages;
    }
}
