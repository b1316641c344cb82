package dev.sandbox.ffi;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PageMapTest {
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
