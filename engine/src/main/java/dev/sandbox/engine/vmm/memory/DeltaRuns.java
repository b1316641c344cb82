package dev.sandbox.engine.vmm.memory;

import dev.sandbox.ffi.Mapping;

import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;

/**
 * A checked delta file and its runs, mapped over a restored VM's base. The pages it covers differ from the base but
 * are file pages, not anonymous copies, so the pagemap does not show them as written: {@link #pages()} adds them.
 */
public record DeltaRuns(Path file, List<PageRun> runs) {
    static final long PAGE = 4096;

    public DeltaRuns {
        runs = List.copyOf(runs);
    }

    /** Bit i set: guest page i comes from the delta file. */
    public BitSet pages() {
        BitSet pages = new BitSet();
        for (PageRun r : runs) {
            pages.set(Math.toIntExact(r.guestPage()), Math.toIntExact(r.endPage()));
        }
        return pages;
    }

    List<Mapping.Overlay> overlays() {
        return runs.stream().map(r -> new Mapping.Overlay(r.guestPage() * PAGE, r.filePage() * PAGE,
                r.pages() * PAGE)).toList();
    }
}
