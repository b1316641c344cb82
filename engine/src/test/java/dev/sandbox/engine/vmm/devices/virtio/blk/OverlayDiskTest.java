package dev.sandbox.engine.vmm.devices.virtio.blk;

import dev.sandbox.ffi.SparseFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OverlayDiskTest {
    static final int B = OverlayDisk.BLOCK_SIZE;
    static final long CAPACITY = 16L * B;

    @TempDir
    Path dir;

    /** A base of 3.5 blocks of noise: blocks 0-2 whole, block 3 half base, half zeros. */
    private Path base() throws IOException {
        Path base = dir.resolve("base.img");
        Files.write(base, noise(3 * B + B / 2, 1));
        return base;
    }

    @Test
    void readsFallThroughTopLowerBaseAndZeros() throws IOException {
        Path base = base();
        byte[] baseBytes = Files.readAllBytes(base);
        Path lower = dir.resolve("lower");
        try (OverlayDisk template = OverlayDisk.create(base, List.of(), lower, CAPACITY)) {
            write(template, B, fill(B, 'L'));      // block 1
            write(template, 5L * B, fill(B, 'M')); // block 5, past the base
            template.flush();
        }
        try (OverlayDisk disk = OverlayDisk.create(base, List.of(lower), dir.resolve("top"), CAPACITY)) {
            write(disk, 5L * B, fill(B, 'T'));
            byte[] all = read(disk, 0, (int) CAPACITY);
            assertArrayEquals(Arrays.copyOfRange(baseBytes, 0, B), Arrays.copyOfRange(all, 0, B), "block 0: base");
            assertArrayEquals(fill(B, 'L'), Arrays.copyOfRange(all, B, 2 * B), "block 1: lower");
            assertArrayEquals(Arrays.copyOfRange(baseBytes, 2 * B, 3 * B + B / 2),
                    Arrays.copyOfRange(all, 2 * B, 3 * B + B / 2), "blocks 2-3: base");
            assertArrayEquals(new byte[B / 2], Arrays.copyOfRange(all, 3 * B + B / 2, 4 * B), "past the base: zeros");
            assertArrayEquals(new byte[B], Arrays.copyOfRange(all, 4 * B, 5 * B));
            assertArrayEquals(fill(B, 'T'), Arrays.copyOfRange(all, 5 * B, 6 * B), "block 5: top over lower");
            assertArrayEquals(new byte[(int) CAPACITY - 6 * B], Arrays.copyOfRange(all, 6 * B, (int) CAPACITY));
            assertArrayEquals(Arrays.copyOfRange(all, 700, 9000), read(disk, 700, 8300), "unaligned reads agree");
        }
    }

    @Test
    void aPartialWriteCopiesTheBlockUpAndAWholeOneDoesNot() throws IOException {
        Path base = base();
        byte[] baseBytes = Files.readAllBytes(base);
        Path top = dir.resolve("top");
        try (OverlayDisk disk = OverlayDisk.create(base, List.of(), top, CAPACITY)) {
            write(disk, B + 512, fill(1024, 'w')); // sectors 1-2 of block 1
            byte[] expected = Arrays.copyOfRange(baseBytes, B, 2 * B);
            Arrays.fill(expected, 512, 1536, (byte) 'w');
            assertArrayEquals(expected, read(disk, B, B));
            assertArrayEquals(expected, Arrays.copyOfRange(Files.readAllBytes(top), B, 2 * B),
                    "the top holds the whole block");

            write(disk, 3L * B - 512, fill(B + 1024, 'x')); // last sector of block 2, block 3 whole... and more
            byte[] block2 = Arrays.copyOfRange(baseBytes, 2 * B, 3 * B);
            Arrays.fill(block2, B - 512, B, (byte) 'x');
            assertArrayEquals(block2, read(disk, 2L * B, B));
            byte[] block4 = new byte[B];
            Arrays.fill(block4, 0, 512, (byte) 'x');
            assertArrayEquals(block4, read(disk, 4L * B, B), "copied up from zeros past the base");
            assertEquals(4L * B, disk.dataBytes(), "blocks 1, 2, 3 and 4");
        }
    }

    @Test
    void writesNeverTouchTheBaseOrTheLowers() throws IOException {
        Path base = base();
        Path lower = dir.resolve("lower");
        try (OverlayDisk template = OverlayDisk.create(base, List.of(), lower, CAPACITY)) {
            write(template, 0, fill(2 * B, 'L'));
            template.flush();
        }
        FileTime old = FileTime.fromMillis(1_000_000_000_000L);
        for (Path p : List.of(base, lower, LayerMap.of(lower))) {
            Files.setLastModifiedTime(p, old);
        }
        byte[] baseBytes = Files.readAllBytes(base);
        byte[] lowerBytes = Files.readAllBytes(lower);
        byte[] lowerMap = Files.readAllBytes(LayerMap.of(lower));

        try (OverlayDisk disk = OverlayDisk.create(base, List.of(lower), dir.resolve("top"), CAPACITY)) {
            write(disk, 0, fill((int) CAPACITY, 'T'));
            write(disk, 100, fill(3000, 'u'));
            disk.sync();
            disk.exportTo(dir.resolve("flat.img"));
        }
        assertArrayEquals(baseBytes, Files.readAllBytes(base));
        assertArrayEquals(lowerBytes, Files.readAllBytes(lower));
        assertArrayEquals(lowerMap, Files.readAllBytes(LayerMap.of(lower)));
        for (Path p : List.of(base, lower, LayerMap.of(lower))) {
            assertEquals(old, Files.getLastModifiedTime(p), p.toString());
        }
    }

    @Test
    void aSyncedDiskReopensWithTheSameBytes() throws IOException {
        Path base = base();
        DiskState state;
        byte[] before;
        try (OverlayDisk disk = OverlayDisk.create(base, List.of(), dir.resolve("top"), CAPACITY)) {
            write(disk, 7L * B + 512, noise(5 * B, 2));
            write(disk, 0, noise(512, 3));
            state = disk.sync();
            before = read(disk, 0, (int) CAPACITY);
            assertEquals(7, state.top().blocks());
            assertEquals(state, disk.sync(), "nothing changed in between");
        }
        try (OverlayDisk disk = OverlayDisk.open(state)) {
            assertArrayEquals(before, read(disk, 0, (int) CAPACITY));
            write(disk, 15L * B, fill(B, 'n'));
            DiskState next = disk.sync();
            assertEquals(8, next.top().blocks());
            assertNotEquals(state.top().crc(), next.top().crc());
        }
        DiskStateException e = assertThrows(DiskStateException.class, () -> OverlayDisk.open(state));
        assertTrue(e.getMessage().contains("is damaged"), "the top moved on since: " + e.getMessage());
    }

    @Test
    void theMapIsRewrittenOnlyWhenTheTopGainedBlocks() throws IOException {
        Path top = dir.resolve("top");
        try (OverlayDisk disk = OverlayDisk.create(base(), List.of(), top, CAPACITY)) {
            write(disk, 0, fill(B, 'a'));
            disk.flush();
            Object key = Files.readAttributes(LayerMap.of(top), "unix:ino").get("ino");
            write(disk, 512, fill(512, 'b')); // a block the top holds already
            disk.flush();
            assertEquals(key, Files.readAttributes(LayerMap.of(top), "unix:ino").get("ino"), "map left alone");
            write(disk, B, fill(512, 'c'));
            disk.flush();
            assertNotEquals(key, Files.readAttributes(LayerMap.of(top), "unix:ino").get("ino"), "map replaced");
            assertFalse(Files.exists(dir.resolve("top.map.tmp")));
        }
    }

    @Test
    void aFlippedByteInALayersDataOrMapIsRefusedNamingTheLayer() throws IOException {
        DiskState state = savedWithLower();
        Path top = state.top().path();
        Path lower = state.layers().getFirst().path();

        flipByte(top, 2L * B + 9);
        assertDamaged(top, state);
        flipByte(top, 2L * B + 9);
        OverlayDisk.open(state).close(); // intact again

        flipByte(lower, 11);
        assertDamaged(lower, state);
        flipByte(lower, 11);

        flipByte(LayerMap.of(top), 40); // inside the word list
        assertDamaged(top, state);
        flipByte(LayerMap.of(top), 40);

        byte[] map = Files.readAllBytes(LayerMap.of(lower));
        Files.write(LayerMap.of(lower), Arrays.copyOf(map, map.length - 3));
        String message = assertDamaged(lower, state);
        assertTrue(message.contains("lower.map"), message);
        Files.write(LayerMap.of(lower), map);
        OverlayDisk.open(state).close();
    }

    @Test
    void aChangedBaseOrAMissingLayerIsRefusedNamingTheFile() throws IOException {
        DiskState state = savedWithLower();
        Path base = state.base().path();
        Path lower = state.layers().getFirst().path();

        FileTime modified = Files.getLastModifiedTime(base);
        Files.setLastModifiedTime(base, FileTime.fromMillis(modified.toMillis() + 5000));
        DiskStateException e = assertThrows(DiskStateException.class, () -> OverlayDisk.open(state));
        assertTrue(e.getMessage().startsWith("the disk base " + base + " changed"), e.getMessage());
        Files.setLastModifiedTime(base, modified);

        Files.move(lower, dir.resolve("elsewhere"));
        e = assertThrows(DiskStateException.class, () -> OverlayDisk.open(state));
        assertEquals("the disk overlay " + lower + " is missing", e.getMessage());
        Files.move(dir.resolve("elsewhere"), lower);

        Files.move(LayerMap.of(state.top().path()), dir.resolve("elsewhere"));
        e = assertThrows(DiskStateException.class, () -> OverlayDisk.open(state));
        assertTrue(e.getMessage().contains("top.map is missing"), e.getMessage());
        Files.move(dir.resolve("elsewhere"), LayerMap.of(state.top().path()));

        Files.delete(base);
        e = assertThrows(DiskStateException.class, () -> OverlayDisk.open(state));
        assertEquals("the disk base " + base + " is missing", e.getMessage());
    }

    @Test
    void aVerifiedLowerIsNotReadAgainUntilItIsWritten() throws IOException {
        DiskState state = savedWithLower();
        Path lower = state.layers().getFirst().path();
        OverlayDisk.open(state).close();
        long before = Layer.verifications();
        OverlayDisk.open(state).close();
        assertEquals(before + 1, Layer.verifications(), "only the top was read again");

        FileTime modified = Files.getLastModifiedTime(lower);
        flipByte(lower, 11);
        Files.setLastModifiedTime(lower, modified); // its change time still moved
        assertDamaged(lower, state);
    }

    @Test
    void aBigSparseDiskSyncsByItsDataNotItsCapacity() throws IOException {
        long capacity = 64L << 30;
        Path top = dir.resolve("top");
        try (OverlayDisk disk = OverlayDisk.create(base(), List.of(), top, capacity)) {
            write(disk, 0, fill(B, 'a'));
            write(disk, 33L << 30, fill(B, 'b'));
            write(disk, capacity - B, fill(B, 'c'));
            DiskState state = disk.sync();
            assertEquals(3, state.top().blocks());
            assertEquals(3L * B, disk.dataBytes());
            assertTrue(SparseFile.dataBytes(top) <= 3 * 64 * 1024, "top allocated " + SparseFile.dataBytes(top));
            assertTrue(Files.size(LayerMap.of(top)) < 256, "the map lists words, not the capacity");
            assertArrayEquals(fill(B, 'c'), read(disk, capacity - B, B));
        }
    }

    @Test
    void anExportIsTheWholeDiskFlatAndSparse() throws IOException {
        Path base = base();
        Path lower = dir.resolve("lower");
        try (OverlayDisk template = OverlayDisk.create(base, List.of(), lower, CAPACITY)) {
            write(template, 6L * B, fill(B, 'L'));
            template.flush();
        }
        Path image = dir.resolve("flat.img");
        byte[] expected;
        try (OverlayDisk disk = OverlayDisk.create(base, List.of(lower), dir.resolve("top"), CAPACITY)) {
            write(disk, 10L * B + 512, fill(512, 'T'));
            write(disk, 12L * B, new byte[B]); // a block of zeros the top holds: a hole in the image
            expected = read(disk, 0, (int) CAPACITY);
            disk.exportTo(image);
        }
        assertArrayEquals(expected, Files.readAllBytes(image));
        assertTrue(SparseFile.dataBytes(image) <= 6L * B, "data blocks 0-3, 6, 10 only: "
                + SparseFile.dataBytes(image));
        assertFalse(Files.exists(dir.resolve("flat.img.tmp")));
        try (OverlayDisk fromImage = OverlayDisk.create(image, List.of(), dir.resolve("top2"), CAPACITY)) {
            assertArrayEquals(expected, read(fromImage, 0, (int) CAPACITY), "the image serves as a new base");
        }
    }

    @Test
    void clonesShareALowerLayerAndWritePrivately() throws IOException {
        Path base = base();
        DiskState template;
        try (OverlayDisk disk = OverlayDisk.create(base, List.of(), dir.resolve("template"), CAPACITY)) {
            write(disk, 2L * B, fill(B, 't'));
            template = disk.sync();
        }
        byte[] templateBytes = Files.readAllBytes(template.top().path());
        DiskState savedA;
        try (OverlayDisk a = OverlayDisk.createOver(template, dir.resolve("a"));
             OverlayDisk b = OverlayDisk.createOver(template, dir.resolve("b"))) {
            write(a, 2L * B + 512, fill(512, 'A'));
            write(b, 2L * B + 512, fill(512, 'B'));
            assertEquals('A', read(a, 2L * B + 512, 1)[0]);
            assertEquals('B', read(b, 2L * B + 512, 1)[0]);
            assertEquals('t', read(a, 2L * B, 1)[0], "the rest of the block from the template");
            assertEquals('t', read(b, 3L * B - 1, 1)[0]);
            savedA = a.sync();
            b.sync();
        }
        assertArrayEquals(templateBytes, Files.readAllBytes(template.top().path()));
        assertEquals(List.of(template.top().path(), dir.resolve("a")),
                savedA.layers().stream().map(DiskState.Layer::path).toList());
        assertEquals(template.top(), savedA.layers().getFirst(), "the lower keeps the template's checksum");
        try (OverlayDisk a = OverlayDisk.open(savedA)) {
            assertEquals('A', read(a, 2L * B + 512, 1)[0]);
        }
    }

    @Test
    void aTopThatExistsOrAWrongCapacityIsRefused() throws IOException {
        Path base = base();
        Path top = dir.resolve("top");
        OverlayDisk.create(base, List.of(), top, CAPACITY).close();
        assertThrows(FileAlreadyExistsException.class, () -> OverlayDisk.create(base, List.of(), top, CAPACITY));
        assertThrows(IllegalArgumentException.class, () -> OverlayDisk.create(base, List.of(), dir.resolve("t2"), 1000));
        DiskStateException e = assertThrows(DiskStateException.class,
                () -> OverlayDisk.create(base, List.of(top), dir.resolve("t3"), 2 * CAPACITY));
        assertTrue(e.getMessage().contains("it maps 16 blocks"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("t3")), "nothing left behind");
    }

    @Test
    void closeIsIdempotentAndAClosedDiskRefusesIo() throws IOException {
        OverlayDisk disk = OverlayDisk.create(base(), List.of(), dir.resolve("top"), CAPACITY);
        disk.close();
        disk.close();
        assertThrows(IOException.class, () -> read(disk, 0, 512));
        assertThrows(IOException.class, disk::flush);
        assertThrows(IllegalArgumentException.class, () -> {
            try (OverlayDisk open = OverlayDisk.create(base(), List.of(), dir.resolve("top2"), CAPACITY)) {
                read(open, CAPACITY - 512, 1024);
            }
        });
        assertEquals("top", disk.id());
    }

    private DiskState savedWithLower() throws IOException {
        Path base = base();
        Path lower = dir.resolve("lower");
        try (OverlayDisk template = OverlayDisk.create(base, List.of(), lower, CAPACITY)) {
            write(template, 0, noise(2 * B, 4));
            template.flush();
        }
        try (OverlayDisk disk = OverlayDisk.create(base, List.of(lower), dir.resolve("top"), CAPACITY)) {
            write(disk, 2L * B, noise(3 * B, 5));
            return disk.sync();
        }
    }

    private static String assertDamaged(Path layer, DiskState state) {
        DiskStateException e = assertThrows(DiskStateException.class, () -> OverlayDisk.open(state));
        assertTrue(e.getMessage().startsWith("the disk overlay " + layer + " is damaged: "), e.getMessage());
        return e.getMessage();
    }

    static void flipByte(Path file, long at) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x40);
        }
    }

    static byte[] read(OverlayDisk disk, long offset, int length) throws IOException {
        byte[] bytes = new byte[length];
        disk.read(offset, MemorySegment.ofArray(bytes));
        return bytes;
    }

    static void write(OverlayDisk disk, long offset, byte[] bytes) throws IOException {
        disk.write(offset, MemorySegment.ofArray(bytes));
    }

    static byte[] fill(int length, char c) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) c);
        return bytes;
    }

    static byte[] noise(int length, int seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
