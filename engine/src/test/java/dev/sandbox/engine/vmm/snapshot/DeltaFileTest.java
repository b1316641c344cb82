package dev.sandbox.engine.vmm.snapshot;

import dev.sandbox.engine.vmm.memory.DeltaRuns;
import dev.sandbox.engine.vmm.memory.RestoredRam;
import dev.sandbox.ffi.Mapping;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.Random;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeltaFileTest {
    static final int PAGES = 512;
    static final long SIZE = PAGES * 4096L;

    @TempDir
    Path dir;

    /** A base file of random pages, as a booted VM's pause leaves it. */
    private Path base() throws IOException {
        Path base = dir.resolve("memory");
        if (!Files.exists(base)) {
            byte[] bytes = new byte[(int) SIZE];
            new Random(1).nextBytes(bytes);
            Files.write(base, bytes);
        }
        return base;
    }

    /** The RAM of a VM restored from the base that then wrote {@code pages} (with fresh random content). */
    private static MemorySegment ramAfterWrites(Arena arena, Path base, BitSet pages, long seed) throws IOException {
        MemorySegment ram = arena.allocate(SIZE);
        MemorySegment.copy(MemorySegment.ofArray(Files.readAllBytes(base)), 0, ram, 0, SIZE);
        write(ram, pages, seed);
        return ram;
    }

    private static void write(MemorySegment ram, BitSet pages, long seed) {
        Random random = new Random(seed);
        byte[] page = new byte[4096];
        pages.stream().forEach(p -> {
            random.nextBytes(page);
            MemorySegment.copy(page, 0, ram, JAVA_BYTE, p * 4096L, 4096);
        });
    }

    @Test
    void aMappedRestoreHoldsExactlyTheSavedRamForRandomAndAlternatingPageSets() throws Exception {
        Random random = new Random(3);
        BitSet alternating = new BitSet();
        for (int p = 1; p < PAGES; p += 2) {
            alternating.set(p);
        }
        for (int round = 0; round < 8; round++) {
            BitSet pages = round == 0 ? alternating : new BitSet();
            for (int p = 0; round > 0 && p < PAGES; p++) {
                if (random.nextInt(100) < 2 + round * 5) {
                    pages.set(p);
                }
            }
            PageRuns.Limits limits = round % 2 == 0 ? DeltaFile.LIMITS : PageRuns.Limits.atMost(1 + random.nextInt(8));
            roundTrip(pages, limits, round);
        }
    }

    private void roundTrip(BitSet pages, PageRuns.Limits limits, int round) throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment saved = ramAfterWrites(arena, base(), pages, round);
            Path file = dir.resolve("delta-" + round);
            MemoryFile.Delta delta = DeltaFile.write(saved, pages, file, limits);
            assertTrue(DeltaFile.isMapped(file));
            DeltaRuns runs = DeltaFile.verify(file, delta, SIZE);
            assertTrue(runs.runs().size() <= limits.maxRuns());
            assertEquals(delta.pages(), runs.pages().cardinality());
            assertTrue(delta.pages() >= pages.cardinality());
            try (Mapping m = RestoredRam.map(base(), SIZE, runs)) {
                assertEquals(-1, saved.mismatch(m.segment()), "round " + round);
                assertEquals(runs.pages(), RestoredRam.changedPages(m, runs), "reading writes nothing");
            }
        }
    }

    @Test
    void aSecondGenerationKeepsThePreviousDeltaAndItsOwnWrites() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            BitSet first = new BitSet();
            first.set(10, 20);
            first.set(100);
            first.set(300, 302);
            MemorySegment expected = ramAfterWrites(arena, base(), first, 7);
            Path one = dir.resolve("delta-1");
            MemoryFile.Delta d1 = DeltaFile.write(expected, first, one);
            DeltaRuns runs1 = DeltaFile.verify(one, d1, SIZE);

            BitSet second = new BitSet();
            second.set(15); // inside a run of the first delta: an anonymous copy over a file page of the delta
            second.set(200);
            second.set(511);
            Path two = dir.resolve("delta-2");
            MemoryFile.Delta d2;
            try (Mapping m = RestoredRam.map(base(), SIZE, runs1)) {
                write(m.segment(), second, 8);
                write(expected, second, 8);
                BitSet changed = RestoredRam.changedPages(m, runs1);
                BitSet union = (BitSet) first.clone();
                union.or(second);
                assertEquals(union, changed, "the first delta's pages are file pages: the pagemap alone misses them");
                d2 = DeltaFile.write(m.segment(), changed, two);
            }
            Files.delete(one); // as a pause does once the new vmstate commits
            try (Mapping m = RestoredRam.map(base(), SIZE, DeltaFile.verify(two, d2, SIZE))) {
                assertEquals(-1, expected.mismatch(m.segment()));
            }
        }
    }

    @Test
    void everyMappingIsReleasedWithTheRam() throws Exception {
        BitSet pages = new BitSet();
        for (int p = 1; p + 4 < PAGES; p += 6) { // runs of 4 (mapped), base pages before the first and after the last
            pages.set(p, p + 4);
        }
        try (Arena arena = Arena.ofConfined()) {
            Path file = dir.resolve("delta-3");
            MemoryFile.Delta delta = DeltaFile.write(ramAfterWrites(arena, base(), pages, 1), pages, file);
            DeltaRuns runs = DeltaFile.verify(file, delta, SIZE);
            Mapping m = RestoredRam.map(base(), SIZE, runs);
            long address = m.address();
            assertEquals(runs.runs(), runs.mapped());
            assertEquals(2L * runs.runs().size() + 1, vmasIn(address, SIZE), "base pieces and runs");
            m.close();
            assertEquals(0, vmasIn(address, SIZE));
        }
    }

    @Test
    void aDamagedHeaderOrDataOrATruncatedFileIsRefused() throws Exception {
        BitSet pages = new BitSet();
        pages.set(5, 9);
        pages.set(40);
        Path file = dir.resolve("delta-4");
        MemoryFile.Delta delta;
        try (Arena arena = Arena.ofConfined()) {
            delta = DeltaFile.write(ramAfterWrites(arena, base(), pages, 2), pages, file);
        }
        byte[] good = Files.readAllBytes(file);
        assertEquals(6 * 4096, good.length, "a header page, then five pages");

        assertTrue(refused(file, damaged(good, DeltaFile.FIXED + 3), delta).contains("header checksum mismatch"));
        assertTrue(refused(file, damaged(good, good.length - 100), delta).contains("checksum mismatch"));
        assertTrue(refused(file, damaged(good, 4096 - 1), delta).contains("checksum mismatch"), "padding counts");
        byte[] truncated = java.util.Arrays.copyOf(good, good.length - 4096);
        assertTrue(refused(file, truncated, delta).contains("corrupt"));
        assertTrue(refused(file, java.util.Arrays.copyOf(good, 100), delta).contains("corrupt"));
        byte[] version = good.clone();
        version[8] = 3;
        assertTrue(refused(file, version, delta).contains("version 3"));
        Files.write(file, good);
        assertTrue(refused(file, good, new MemoryFile.Delta(4, delta.crc())).contains("its snapshot 4"));
        assertTrue(refused(file, good, new MemoryFile.Delta(5, delta.crc() ^ 1)).contains("checksum mismatch"));
        assertThrows(SnapshotFormatException.class, () -> DeltaFile.verify(file, delta, 20 * 4096),
                "a run past the end of a smaller RAM");
        assertEquals(2, DeltaFile.verify(file, delta, SIZE).runs().size());
    }

    @Test
    void aRunTableOutOfOrderIsRefusedEvenWithAValidHeaderChecksum() throws Exception {
        BitSet pages = new BitSet();
        pages.set(5);
        pages.set(40);
        Path file = dir.resolve("delta-5");
        try (Arena arena = Arena.ofConfined()) {
            DeltaFile.write(ramAfterWrites(arena, base(), pages, 2), pages, file);
        }
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(Files.readAllBytes(file))
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(DeltaFile.FIXED + DeltaFile.RUN, 5); // second run onto the first one's page
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(b.array(), 0, DeltaFile.FIXED + 2 * DeltaFile.RUN);
        b.putInt(DeltaFile.FIXED + 2 * DeltaFile.RUN, (int) crc.getValue());
        Files.write(file, b.array());
        crc.reset();
        crc.update(b.array());
        MemoryFile.Delta forged = new MemoryFile.Delta(2, crc.getValue()); // even the whole-file checksum agrees
        assertTrue(refused(file, b.array(), forged).contains("out of order"));
    }

    @Test
    void aDeltaOfTheFirstFormatIsToldApartAndStillCopiedIn() throws Exception {
        BitSet pages = new BitSet();
        pages.set(0);
        pages.set(77, 80);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment saved = ramAfterWrites(arena, base(), pages, 4);
            Path file = dir.resolve("delta-6");
            MemoryFile.Delta delta = MemoryFile.writeDelta(saved, pages, file);
            assertFalse(DeltaFile.isMapped(file));
            try (Mapping m = RestoredRam.map(base(), SIZE, null)) {
                MemoryFile.applyDelta(file, delta, m.segment());
                assertEquals(-1, saved.mismatch(m.segment()));
                assertEquals(pages, RestoredRam.changedPages(m, null), "copied pages are written pages");
            }
        }
    }

    private static byte[] damaged(byte[] good, int at) {
        byte[] b = good.clone();
        b[at] ^= 0x10;
        return b;
    }

    private static String refused(Path file, byte[] content, MemoryFile.Delta delta) throws IOException {
        Files.write(file, content);
        return assertThrows(SnapshotFormatException.class, () -> DeltaFile.verify(file, delta, SIZE)).getMessage();
    }

    /** Lines of /proc/self/maps (VMAs) that start inside [address, address + length). */
    static long vmasIn(long address, long length) throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream()
                .mapToLong(line -> Long.parseUnsignedLong(line.substring(0, line.indexOf('-')), 16))
                .filter(start -> start >= address && start < address + length).count();
    }
}
