package dev.sandbox.ffi;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
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
}
