package dev.sandbox.engine.vmm.snapshot;

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

class MemoryFileTest {
    static final int PAGES = 64;

    @Test
    void aBaseIsSparseAndWhole(@TempDir Path dir) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(PAGES * 4096L);
            ram.set(JAVA_BYTE, 3 * 4096 + 5, (byte) 9);
            ram.set(JAVA_BYTE, 40 * 4096, (byte) 1);
            Path file = dir.resolve("memory");
            assertEquals(2 * 4096, MemoryFile.write(ram, file), "only the two non-zero pages are written");
            byte[] back = Files.readAllBytes(file);
            assertEquals(PAGES * 4096, back.length);
            assertEquals(9, back[3 * 4096 + 5]);
            assertEquals(1, back[40 * 4096]);
            assertFalse(Files.exists(dir.resolve("memory.tmp")));
        }
    }

    @Test
    void aDeltaCarriesExactlyItsPages(@TempDir Path dir) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(PAGES * 4096L);
            byte[] noise = new byte[PAGES * 4096];
            new Random(5).nextBytes(noise);
            MemorySegment.copy(noise, 0, ram, JAVA_BYTE, 0, noise.length);
            BitSet pages = new BitSet();
            pages.set(0);
            pages.set(17);
            pages.set(63);
            Path file = dir.resolve("delta-1");
            MemoryFile.Delta delta = MemoryFile.writeDelta(ram, pages, file);
            assertEquals(3, delta.pages());

            MemorySegment restored = arena.allocate(PAGES * 4096L);
            MemoryFile.applyDelta(file, delta, restored);
            for (int p = 0; p < PAGES; p++) {
                long mismatch = MemorySegment.mismatch(ram, p * 4096L, (p + 1) * 4096L, restored, p * 4096L,
                        (p + 1) * 4096L);
                assertEquals(pages.get(p), mismatch == -1, "page " + p);
            }
        }
    }

    @Test
    void aDamagedOrForeignDeltaIsRefused(@TempDir Path dir) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(PAGES * 4096L);
            ram.fill((byte) 3);
            BitSet pages = new BitSet();
            pages.set(2);
            pages.set(9);
            Path file = dir.resolve("delta-2");
            MemoryFile.Delta delta = MemoryFile.writeDelta(ram, pages, file);
            byte[] good = Files.readAllBytes(file);

            byte[] flipped = good.clone();
            flipped[flipped.length - 1] ^= 1;
            Files.write(file, flipped);
            assertTrue(refused(file, delta, ram).contains("checksum"));

            byte[] outOfRange = good.clone();
            outOfRange[8 + 15] = (byte) 200; // first page number: 200 > 63
            Files.write(file, outOfRange);
            assertTrue(refused(file, delta, ram).contains("out of order or range"));

            Files.write(file, good);
            assertTrue(refused(file, new MemoryFile.Delta(5, delta.crc()), ram).contains("does not hold"));
            assertTrue(refused(file, new MemoryFile.Delta(-1, delta.crc()), ram).contains("does not hold"));
            MemoryFile.applyDelta(file, delta, ram);
        }
    }

    private static String refused(Path file, MemoryFile.Delta delta, MemorySegment ram) {
        return assertThrows(SnapshotFormatException.class, () -> MemoryFile.applyDelta(file, delta, ram))
                .getMessage();
    }
}
