package dev.sandbox.engine.vmm.snapshot;

import dev.sandbox.engine.vmm.memory.PageRun;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/**
 * The runs a delta stores a page set in. Each run becomes a mapping of its own at restore, so their number is
 * bounded: past {@code maxRuns}, neighbouring runs merge across the smallest gaps first, and the gap pages are
 * stored too (their current content, which is correct, only more of it).
 */
final class PageRuns {
    private PageRuns() {
    }

    /** Runs covering {@code pages} in order, at most {@code maxRuns}, stored one after another from {@code firstFilePage}. */
    static List<PageRun> plan(BitSet pages, int maxRuns, long firstFilePage) {
        if (maxRuns < 1) {
            throw new IllegalArgumentException("maxRuns " + maxRuns);
        }
        List<long[]> runs = new ArrayList<>(); // {first, end}
        for (int p = pages.nextSetBit(0); p >= 0; p = pages.nextSetBit(p)) {
            int end = pages.nextClearBit(p);
            runs.add(new long[] {p, end});
            p = end;
        }
        boolean[] bridged = bridgedGaps(runs, maxRuns);
        List<PageRun> planned = new ArrayList<>();
        long filePage = firstFilePage;
        for (int i = 0; i < runs.size(); ) {
            long first = runs.get(i)[0];
            int last = i;
            while (last < bridged.length && bridged[last]) {
                last++;
            }
            long pagesInRun = runs.get(last)[1] - first;
            planned.add(new PageRun(first, pagesInRun, filePage));
            filePage += pagesInRun;
            i = last + 1;
        }
        return planned;
    }

    /** bridged[i]: the gap after run i is stored, joining it to run i + 1; the smallest gaps go first. */
    private static boolean[] bridgedGaps(List<long[]> runs, int maxRuns) {
        int gaps = Math.max(0, runs.size() - 1);
        boolean[] bridged = new boolean[gaps];
        int toBridge = runs.size() - maxRuns;
        if (toBridge <= 0) {
            return bridged;
        }
        long[] bySize = new long[gaps]; // gap size in the high bits, its index in the low: one sort, ties by position
        for (int i = 0; i < gaps; i++) {
            bySize[i] = ((runs.get(i + 1)[0] - runs.get(i)[1]) << 32) | i;
        }
        Arrays.sort(bySize);
        for (int k = 0; k < toBridge; k++) {
            bridged[(int) bySize[k]] = true;
        }
        return bridged;
    }
}
