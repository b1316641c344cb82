package dev.sandbox.engine.vmm.memory;

import dev.sandbox.ffi.Mapping;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RestoredRamTest {
    static final int PAGES = 4096;
    static final long SIZE = PAGES * 4096L;

    @TempDir
    Path dir;

    @Test
    void theLargestRunsAreMappedUpToTheBoundAndTheRestCopied() throws IOException {
        Path base = dir.resolve("memory");
        byte[] expected = new byte[(int) SIZE];
        Arrays.fill(expected, (byte) 1);
        Files.write(base, expected);
        // 300 runs of 5 pages (only 256 can be mapped), 40 runs of 2 (too small to map): file pages back to back
        List<PageRun> runs = new ArrayList<>();
        long filePage = 0;
        for (int i = 0; i < 340; i++) {
            long pages = i < 300 ? 5 : 2;
            runs.add(new PageRun(1 + 8L * i, pages, filePage));
            filePage += pages;
        }
        byte[] deltaBytes = new byte[(int) (filePage * 4096)];
        for (PageRun r : runs) {
            for (long p = 0; p < r.pages(); p++) {
                byte value = (byte) (10 + (r.guestPage() + p) % 100);
                Arrays.fill(deltaBytes, (int) ((r.filePage() + p) * 4096), (int) ((r.filePage() + p + 1) * 4096),
                        value);
                Arrays.fill(expected, (int) ((r.guestPage() + p) * 4096), (int) ((r.guestPage() + p + 1) * 4096),
                        value);
            }
        }
        Path file = dir.resolve("delta-1");
        Files.write(file, deltaBytes);
        DeltaRuns delta = new DeltaRuns(file, runs);
        assertEquals(DeltaRuns.MAX_MAPPED_RUNS, delta.mapped().size());
        assertEquals(runs.size() - DeltaRuns.MAX_MAPPED_RUNS, delta.copied().size());
        assertTrue(delta.mapped().stream().allMatch(r -> r.pages() == 5));

        Mapping m = RestoredRam.map(base, SIZE, delta);
        long address = m.address();
        assertArrayEquals(expected, m.segment().toArray(JAVA_BYTE));
        assertEquals(2L * DeltaRuns.MAX_MAPPED_RUNS + 1, vmasIn(address, SIZE), "the bound holds");
        BitSet changed = RestoredRam.changedPages(m, delta);
        assertEquals(delta.pages(), changed, "mapped runs count as changed; copied ones are written pages anyway");
        m.segment().set(JAVA_BYTE, (PAGES - 1) * 4096L, (byte) 0);
        changed.set(PAGES - 1);
        assertEquals(changed, RestoredRam.changedPages(m, delta));
        m.close();
        assertEquals(0, vmasIn(address, SIZE));
        assertArrayEquals(deltaBytes, Files.readAllBytes(file), "the delta file is never written");
    }

    /** Lines of /proc/self/maps (VMAs) that start inside [address, address + length). */
    private static long vmasIn(long address, long length) throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream()
                .mapToLong(line -> Long.parseUnsignedLong(line.substring(0, line.indexOf('-')), 16))
                .filter(start -> start >= address && start < address + length).count();
    }
}
