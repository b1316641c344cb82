package dev.sandbox.ffi;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MappingTest {
    private static final int SIZE = 2 * 4096;

    @TempDir
    Path dir;

    private Path fileOfZeros() throws Exception {
        Path f = dir.resolve("mem");
        Files.write(f, new byte[SIZE]);
        return f;
    }

    @Test
    void sharedFileMappingWritesReachTheFile() throws Exception {
        Path f = fileOfZeros();
        try (Mapping m = Mapping.ofFile(f, 0, SIZE, Mapping.Sharing.SHARED, false)) {
            assertEquals(SIZE, m.segment().byteSize());
            m.segment().set(JAVA_BYTE, 4096 + 7, (byte) 42);
            m.sync();
        }
        assertEquals(42, Files.readAllBytes(f)[4096 + 7]);
    }

    @Test
    void privateFileMappingWritesStayInTheProcess() throws Exception {
        Path f = fileOfZeros();
        try (Mapping m = Mapping.ofFile(f, 0, SIZE, Mapping.Sharing.PRIVATE, true)) {
            m.segment().set(JAVA_BYTE, 5, (byte) 42);
            assertEquals(42, m.segment().get(JAVA_BYTE, 5));
        }
        assertArrayEquals(new byte[SIZE], Files.readAllBytes(f));
    }

    @Test
    void memfdSharedMappingsSeeEachOtherAndPrivateOnesDoNot() {
        try (MemFd memfd = MemFd.create("test", SIZE);
                Mapping a = memfd.map(Mapping.Sharing.SHARED, false);
                Mapping b = memfd.map(Mapping.Sharing.SHARED, false);
                Mapping cow = memfd.map(Mapping.Sharing.PRIVATE, false)) {
            a.segment().set(JAVA_LONG, 8, 0x1234L);
            assertEquals(0x1234L, b.segment().get(JAVA_LONG, 8));
            cow.segment().set(JAVA_LONG, 16, 99L);
            assertEquals(0, a.segment().get(JAVA_LONG, 16));
        }
    }

    @Test
    void segmentIsBoundedAndDiesWithTheMapping() {
        Mapping m = Mapping.anonymous(SIZE, true);
        MemorySegment seg = m.segment();
        MemorySegment slice = seg.asSlice(4096, 4096);
        assertThrows(IndexOutOfBoundsException.class, () -> seg.get(JAVA_BYTE, SIZE));
        m.close();
        m.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> slice.get(JAVA_BYTE, 0));
    }

    @Test
    void dontneedZeroesAnonymousMemory() {
        try (Mapping m = Mapping.anonymous(SIZE, false)) {
            m.segment().set(JAVA_LONG, 4096, 7L);
            m.advise(4096, 4096, Mapping.Advice.DONTNEED);
            assertEquals(0, m.segment().get(JAVA_LONG, 4096));
        }
    }

    @Test
    void misalignedAdviceIsANativeException() {
        try (Mapping m = Mapping.anonymous(SIZE, false)) {
            NativeException e = assertThrows(NativeException.class, () -> m.advise(1, 4096, Mapping.Advice.NORMAL));
            assertEquals("EINVAL", e.errnoSymbol());
        }
    }

    @Test
    void overlaysReplacePagesCopyOnWriteAndGoWithTheMapping() throws Exception {
        Path base = dir.resolve("base");
        Files.write(base, filled(8, (byte) 1));
        Path delta = dir.resolve("delta");
        byte[] deltaBytes = filled(4, (byte) 2);
        deltaBytes[2 * 4096] = 3;
        Files.write(delta, deltaBytes);
        Mapping m = Mapping.ofFile(base, 0, 8 * 4096, Mapping.Sharing.PRIVATE, true);
        // file pages 1 at guest page 2, file pages 2..3 at guest pages 6..7
        m.overlay(delta, List.of(new Mapping.Overlay(2 * 4096, 4096, 4096),
                new Mapping.Overlay(6 * 4096, 2 * 4096, 2 * 4096)), Mapping.Sharing.PRIVATE, true);
        byte[] expected = filled(8, (byte) 1);
        java.util.Arrays.fill(expected, 2 * 4096, 3 * 4096, (byte) 2);
        java.util.Arrays.fill(expected, 6 * 4096, 8 * 4096, (byte) 2);
        expected[6 * 4096] = 3;
        assertArrayEquals(expected, m.segment().toArray(JAVA_BYTE));
        m.segment().set(JAVA_BYTE, 6 * 4096 + 1, (byte) 9); // copy-on-write: the delta file stays as it was
        assertEquals(9, m.segment().get(JAVA_BYTE, 6 * 4096 + 1));
        long address = m.address();
        assertEquals(4, vmasIn(address, 8 * 4096), "base, overlay, base, overlay");
        m.close();
        assertEquals(0, vmasIn(address, 8 * 4096), "one munmap of the range removes the overlays too");
        assertArrayEquals(deltaBytes, Files.readAllBytes(delta));
    }

    @Test
    void overlaysOutsideTheMappingOrTheFileOrMisalignedAreRefused() throws Exception {
        Path f = fileOfZeros();
        try (Mapping m = Mapping.anonymous(4 * 4096, true)) {
            assertThrows(IndexOutOfBoundsException.class, () -> m.overlay(f, List.of(new Mapping.Overlay(3 * 4096,
                    0, 2 * 4096)), Mapping.Sharing.PRIVATE, true));
            assertThrows(IllegalArgumentException.class, () -> m.overlay(f, List.of(new Mapping.Overlay(0,
                    4096, 2 * 4096)), Mapping.Sharing.PRIVATE, true), "past the end of the file: SIGBUS on access");
            assertThrows(IllegalArgumentException.class, () -> new Mapping.Overlay(100, 0, 4096));
            m.segment().set(JAVA_LONG, 0, 5L); // a refused overlay leaves the mapping whole and usable
            assertEquals(5L, m.segment().get(JAVA_LONG, 0));
        }
    }

    private static byte[] filled(int pages, byte value) {
        byte[] b = new byte[pages * 4096];
        java.util.Arrays.fill(b, value);
        return b;
    }

    /** Lines of /proc/self/maps (VMAs) that start inside [address, address + length). */
    static long vmasIn(long address, long length) throws Exception {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream()
                .mapToLong(line -> Long.parseUnsignedLong(line.substring(0, line.indexOf('-')), 16))
                .filter(start -> start >= address && start < address + length).count();
    }
}
