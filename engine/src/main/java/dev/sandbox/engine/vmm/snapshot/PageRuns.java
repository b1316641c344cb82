package dev.sandbox.engine.vmm.snapshot;

import dev.sandbox.engine.vmm.memory.PageRun;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/**
 * The runs a delta stores a page set in. Neighbouring runs merge across the smallest gaps first, the gap pages then
 * stored too (their current content, which is correct, only more of it): down to {@code goalRuns} (what a restore
 * maps) as long as a gap is at most {@code maxBridge} pages, and down to {@code maxRuns} (what the file holds)
 * whatever the gaps.
 */
final class PageRuns {
    /** How far to merge; {@code goalRuns <= maxRuns}. */
    record Limits(int maxRuns, int goalRuns, int maxBridge) {
        Limits {
            if (goalRuns < 1 || maxRuns < goalRuns || maxBridge < 0) {
                throw new IllegalArgumentException("limits " + maxRuns + ", " + goalRuns + ", " + maxBridge);
            }
        }

        /** Merged down to {@code runs} whatever the gaps. */
        static Limits atMost(int runs) {
            return new Limits(runs, runs, 0);
        }
    }

    private PageRuns() {
    }

    /** Runs covering {@code pages} in order, merged as {@code limits} say, stored back to back from {@code firstFilePage}. */
    static List<PageRun> plan(BitSet pages, Limits limits, long firstFilePage) {
        List<long[]> runs = new ArrayList<>(); // {first, end}
        for (int p = pages.nextSetBit(0); p >= 0; p = pages.nextSetBit(p)) {
            int end = pages.nextClearBit(p);
            runs.add(new long[] {p, end});
            p = end;
        }
        boolean[] bridged = bridgedGaps(runs, limits);
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
    private static boolean[] bridgedGaps(List<long[]> runs, Limits limits) {
        int gaps = Math.max(0, runs.size() - 1);
        boolean[] bridged = new boolean[gaps];
        if (runs.size() <= limits.goalRuns()) {
            return bridged;
        }
        long[] bySize = new long[gaps]; // gap size in the high bits, its index in the low: one sort, ties by position
        for (int i = 0; i < gaps; i++) {
            bySize[i] = ((runs.get(i + 1)[0] - runs.get(i)[1]) << 32) | i;
        }
        Arrays.sort(bySize);
        int mustBridge = runs.size() - limits.maxRuns();
        int goal = runs.size() - limits.goalRuns();
        for (int k = 0; k < goal; k++) {
            if (k >= mustBridge && (bySize[k] >>> 32) > limits.maxBridge()) {
                break;
            }
            bridged[(int) bySize[k]] = true;
        }
        return bridged;
    }
}
