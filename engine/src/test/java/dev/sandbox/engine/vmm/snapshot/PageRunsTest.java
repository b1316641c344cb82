package dev.sandbox.engine.vmm.snapshot;

import dev.sandbox.engine.vmm.memory.PageRun;
import org.junit.jupiter.api.Test;

import java.util.BitSet;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PageRunsTest {
    @Test
    void runsAreTheMaximalStretchesStoredBackToBack() {
        BitSet pages = pages(0, 1, 2, 7, 9, 10);
        assertEquals(List.of(new PageRun(0, 3, 5), new PageRun(7, 1, 8), new PageRun(9, 2, 9)),
                PageRuns.plan(pages, PageRuns.Limits.atMost(16), 5));
        assertEquals(List.of(), PageRuns.plan(new BitSet(), PageRuns.Limits.atMost(16), 1));
    }

    @Test
    void pastTheBoundTheSmallestGapsAreBridgedFirst() {
        // gaps: 3..9 (7 pages), 11 (1 page), 13..14 (2 pages)
        BitSet pages = pages(0, 1, 2, 10, 12, 15);
        assertEquals(List.of(new PageRun(0, 3, 0), new PageRun(10, 3, 3), new PageRun(15, 1, 6)),
                PageRuns.plan(pages, PageRuns.Limits.atMost(3), 0));
        assertEquals(List.of(new PageRun(0, 3, 0), new PageRun(10, 6, 3)), PageRuns.plan(pages, PageRuns.Limits.atMost(2), 0));
        assertEquals(List.of(new PageRun(0, 16, 0)), PageRuns.plan(pages, PageRuns.Limits.atMost(1), 0));
    }

    @Test
    void towardTheGoalOnlyShortGapsAreBridgedAndPastTheMaximumAnyGap() {
        // gaps: 3..9 (7 pages), 11 (1 page), 13..14 (2 pages), 16..99 (84 pages)
        BitSet pages = pages(0, 1, 2, 10, 12, 15, 100);
        assertEquals(List.of(new PageRun(0, 3, 0), new PageRun(10, 6, 3), new PageRun(100, 1, 9)),
                PageRuns.plan(pages, new PageRuns.Limits(5, 1, 2), 0), "gaps of 1 and 2 toward a goal of 1");
        assertEquals(List.of(new PageRun(0, 3, 0), new PageRun(10, 6, 3), new PageRun(100, 1, 9)),
                PageRuns.plan(pages, new PageRuns.Limits(3, 1, 2), 0), "3 runs are allowed: no more bridging");
        assertEquals(List.of(new PageRun(0, 16, 0), new PageRun(100, 1, 16)),
                PageRuns.plan(pages, new PageRuns.Limits(2, 1, 2), 0), "past the maximum, the 7-page gap too");
        assertEquals(List.of(new PageRun(0, 16, 0), new PageRun(100, 1, 16)),
                PageRuns.plan(pages, new PageRuns.Limits(5, 2, 100), 0), "the goal reached, no further");
    }

    @Test
    void alternatingPagesAndRandomSetsStayBoundedAndCovered() {
        BitSet alternating = new BitSet();
        for (int p = 0; p < 131072; p += 2) {
            alternating.set(p);
        }
        check(alternating, DeltaFile.MAX_RUNS);
        check(alternating, 256);
        Random random = new Random(11);
        for (int round = 0; round < 20; round++) {
            BitSet pages = new BitSet();
            int density = 1 + random.nextInt(50);
            for (int p = 0; p < 20000; p++) {
                if (random.nextInt(100) < density) {
                    pages.set(p);
                }
            }
            check(pages, 1 + random.nextInt(300));
        }
    }

    /** Bounded, in order, not overlapping, stored back to back, every page covered, starting and ending on one. */
    private static void check(BitSet pages, int maxRuns) {
        List<PageRun> runs = PageRuns.plan(pages, PageRuns.Limits.atMost(maxRuns), 0);
        int natural = PageRuns.plan(pages, PageRuns.Limits.atMost(Integer.MAX_VALUE), 0).size();
        assertEquals(Math.min(natural, maxRuns), runs.size(), "merged only as far as the bound needs");
        BitSet covered = new BitSet();
        long end = -1;
        long file = 0;
        for (PageRun r : runs) {
            assertTrue(r.guestPage() > end, "in order, with a gap between");
            assertTrue(pages.get((int) r.guestPage()) && pages.get((int) r.endPage() - 1), "no run starts or ends"
                    + " on a page outside the set");
            assertEquals(file, r.filePage());
            covered.set((int) r.guestPage(), (int) r.endPage());
            end = r.endPage();
            file += r.pages();
        }
        BitSet missing = (BitSet) pages.clone();
        missing.andNot(covered);
        assertTrue(missing.isEmpty(), "uncovered pages " + missing);
    }

    private static BitSet pages(int... numbers) {
        BitSet b = new BitSet();
        for (int n : numbers) {
            b.set(n);
        }
        return b;
    }
}
