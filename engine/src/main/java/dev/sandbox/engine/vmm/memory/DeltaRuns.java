package dev.sandbox.engine.vmm.memory;

import dev.sandbox.ffi.Mapping;

import java.nio.file.Path;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A checked delta file and its runs, for a restore to lay over its base: the largest runs mapped, the others
 * copied in. The pages of a mapped run differ from the base but are file pages, not anonymous copies, so the
 * pagemap does not show them as written: {@link #pages()} adds them.
 */
public record DeltaRuns(Path file, List<PageRun> runs) {
    static final long PAGE = 4096;
    /**
     * Each mapped run is one mapping (VMA) and splits the base's into one more: at most 2 × 256 + 1 VMAs per VM. A
     * process has vm.max_map_count (65530 by default) for all its VMs and the JVM's own, so 256 leaves room for about
     * a hundred restored VMs.
     */
    public static final int MAX_MAPPED_RUNS = 256;
    /**
     * Runs shorter than this are copied: an mmap costs about as much as copying a few pages (13 µs per mapped run
     * against 6 µs per copied page, measured with DeltaRestoreBench on a nested VM), and a copied page has no fault
     * left to take when the guest writes it.
     */
    public static final int MIN_MAPPED_PAGES = 4;

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

    /** The runs to map, in guest order: the {@link #MAX_MAPPED_RUNS} largest of {@link #MIN_MAPPED_PAGES} or more. */
    public List<PageRun> mapped() {
        Set<PageRun> largest = new HashSet<>(runs.stream().filter(r -> r.pages() >= MIN_MAPPED_PAGES)
                .sorted(Comparator.comparingLong(PageRun::pages).reversed().thenComparingLong(PageRun::guestPage))
                .limit(MAX_MAPPED_RUNS).toList());
        return runs.stream().filter(largest::contains).toList();
    }

    /** The runs to copy in, in guest order: every one not {@link #mapped()}. */
    public List<PageRun> copied() {
        Set<PageRun> mapped = new HashSet<>(mapped());
        return runs.stream().filter(r -> !mapped.contains(r)).toList();
    }

    static List<Mapping.Overlay> overlays(List<PageRun> runs) {
        return runs.stream().map(r -> new Mapping.Overlay(r.guestPage() * PAGE, r.filePage() * PAGE,
                r.pages() * PAGE)).toList();
    }
}
