package dev.sandbox.ffi;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PageMapTest {
    @Test
    void aMemfdKnowsWhichPagesHoldData() {
        try (MemFd fd = MemFd.create("pagemap-test", 64 * 4096); Mapping m = fd.map(Mapping.Sharing.SHARED, true)) {
            assertTrue(fd.dataPages().isEmpty(), "a fresh memfd is one hole");
            m.segment().set(JAVA_BYTE, 3 * 4096 + 1, (byte) 1);
            m.segment().set(JAVA_BYTE, 40 * 4096, (byte) 0); // written, even with a zero: allocated
            BitSet expected = new BitSet();
            expected.set(3);
            expected.set(40);
            assertEquals(expected, fd.dataPages());
        }
    }

    @Test
    void onlyWrittenPagesOfAPrivateFileMappingCount(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("ram");
        byte[] content = new byte[16 * 4096];
        content[5 * 4096] = 7;
        Files.write(file, content);
        try (Mapping m = Mapping.ofFile(file, 0, content.length, Mapping.Sharing.PRIVATE, true)) {
            assertEquals(7, m.segment().get(JAVA_BYTE, 5 * 4096)); // read: stays a file page
            m.segment().get(JAVA_BYTE, 9 * 4096);
            m.segment().set(JAVA_BYTE, 2 * 4096 + 100, (byte) 1);
            m.segment().set(JAVA_BYTE, 15 * 4096, (byte) 0); // writing a zero still copies the page
            BitSet expected = new BitSet();
            expected.set(2);
            expected.set(15);
            assertEquals(expected, PageMap.writtenPages(m));
        }
        assertEquals(7, Files.readAllBytes(file)[5 * 4096], "a private mapping never writes the file");
    }
}
