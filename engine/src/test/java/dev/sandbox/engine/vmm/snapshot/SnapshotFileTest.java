package dev.sandbox.engine.vmm.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotFileTest {
    private static final int HEADER = 20;
    private static final int TRAILER = 4;
    private static final long MAX = 1 << 20;

    @TempDir
    Path dir;

    private static byte[] payload(int n) {
        byte[] p = new byte[n];
        for (int i = 0; i < n; i++) {
            p[i] = (byte) (i * 31 + 7);
        }
        return p;
    }

    @Test
    void roundTripsAPayloadAndLeavesNoTmpFile() throws IOException {
        Path file = dir.resolve("vm.snap");
        byte[] p = payload(1000);
        SnapshotFile.write(file, p);
        assertArrayEquals(p, SnapshotFile.read(file, MAX));
        assertEquals(HEADER + p.length + TRAILER, Files.size(file));
        assertFalse(Files.exists(dir.resolve("vm.snap.tmp")));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count());
        }
    }

    @Test
    void roundTripsAnEmptyPayload() throws IOException {
        Path file = dir.resolve("empty.snap");
        SnapshotFile.write(file, new byte[0]);
        assertArrayEquals(new byte[0], SnapshotFile.read(file, 0));
    }

    @Test
    void replacesAnExistingSnapshotAndAStaleTmpFile() throws IOException {
        Path file = dir.resolve("vm.snap");
        Files.write(dir.resolve("vm.snap.tmp"), payload(5000));
        SnapshotFile.write(file, payload(10));
        SnapshotFile.write(file, payload(3));
        assertArrayEquals(payload(3), SnapshotFile.read(file, MAX));
        assertFalse(Files.exists(dir.resolve("vm.snap.tmp")));
    }

    @Test
    void writesTheDocumentedLayout() throws IOException {
        Path file = dir.resolve("vm.snap");
        SnapshotFile.write(file, payload(5));
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
        byte[] magic = new byte[8];
        b.get(magic);
        assertArrayEquals("SBXSNAP\0".getBytes(), magic);
        assertEquals(SnapshotFile.VERSION, b.getInt());
        assertEquals(5, b.getLong());
        b.position(b.position() + 5);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, HEADER + 5);
        assertEquals((int) crc.getValue(), b.getInt());
    }

    @Test
    void aFlippedByteAnywhereIsRefusedWithTheRightReason() throws IOException {
        Path file = dir.resolve("vm.snap");
        SnapshotFile.write(file, payload(64));
        byte[] good = Files.readAllBytes(file);
        int checksum = good.length - TRAILER;
        assertFlipRefused(file, good, 0, "not a snapshot file");
        assertFlipRefused(file, good, 7, "not a snapshot file");
        assertFlipRefused(file, good, 8, "snapshot format version");
        assertFlipRefused(file, good, 11, "snapshot format version " + (SnapshotFile.VERSION ^ 1) + ", this engine reads "
                + SnapshotFile.VERSION);
        assertFlipRefused(file, good, 12, "is negative");
        assertFlipRefused(file, good, 19, "does not match the file size");
        assertFlipRefused(file, good, HEADER, "checksum mismatch: the file is corrupt");
        assertFlipRefused(file, good, HEADER + 40, "checksum mismatch: the file is corrupt");
        assertFlipRefused(file, good, checksum, "checksum mismatch: the file is corrupt");
        assertFlipRefused(file, good, good.length - 1, "checksum mismatch: the file is corrupt");
    }

    private static void assertFlipRefused(Path file, byte[] good, int at, String reason) throws IOException {
        byte[] bad = good.clone();
        bad[at] ^= (byte) (at == 11 ? 0x01 : 0x80);
        Files.write(file, bad);
        assertRefused(file, MAX, reason);
    }

    @Test
    void aNewerFormatVersionIsRefused() throws IOException {
        Path file = dir.resolve("vm.snap");
        SnapshotFile.write(file, payload(8));
        byte[] b = Files.readAllBytes(file);
        ByteBuffer.wrap(b).putInt(8, 7);
        Files.write(file, b);
        assertRefused(file, MAX, "snapshot format version 7, this engine reads " + SnapshotFile.VERSION);
    }

    @Test
    void truncatedFilesAreRefused() throws IOException {
        Path file = dir.resolve("vm.snap");
        SnapshotFile.write(file, payload(100));
        byte[] good = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(good, good.length - 1));
        assertRefused(file, MAX, "does not match the file size");
        Files.write(file, Arrays.copyOf(good, HEADER + TRAILER - 1));
        assertRefused(file, MAX, "too short for a snapshot: 23 bytes");
        Files.write(file, new byte[0]);
        assertRefused(file, MAX, "too short for a snapshot: 0 bytes");
    }

    @Test
    void aHugeLengthInASmallFileIsRefusedWithoutAllocating() throws IOException {
        Path file = dir.resolve("vm.snap");
        SnapshotFile.write(file, payload(16));
        byte[] b = Files.readAllBytes(file);
        // Under both a generous limit and none at all: only the file size stands between the field and new byte[].
        ByteBuffer.wrap(b).putLong(12, Integer.MAX_VALUE - 16L);
        Files.write(file, b);
        assertRefused(file, Long.MAX_VALUE, "payload length 2147483631 does not match the file size 40");
        ByteBuffer.wrap(b).putLong(12, Long.MAX_VALUE);
        Files.write(file, b);
        assertRefused(file, Long.MAX_VALUE, "does not match the file size");
    }

    @Test
    void aPayloadOverTheLimitIsRefused() throws IOException {
        Path file = dir.resolve("vm.snap");
        SnapshotFile.write(file, payload(101));
        assertRefused(file, 100, "payload length 101 is over the limit of 100 bytes");
        assertEquals(101, SnapshotFile.read(file, 101).length);
    }

    @Test
    void aNonSnapshotIsRefused() throws IOException {
        Path file = dir.resolve("notes.txt");
        Files.writeString(file, "this is a text file, long enough to pass the size check");
        assertRefused(file, MAX, "not a snapshot file: magic 7468697320697320");
    }

    private static void assertRefused(Path file, long max, String reason) {
        var e = assertThrows(SnapshotFormatException.class, () -> SnapshotFile.read(file, max));
        assertTrue(e.getMessage().contains(reason), e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }
}
