package dev.sandbox.ffi;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SparseFileTest {
    @Test
    void countsDataNotHoles(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("sparse");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(64L << 20);
            raf.seek(32L << 20);
            raf.write(new byte[1 << 20]); // zeros written are still data
        }
        long data = SparseFile.dataBytes(f);
        assertTrue(data >= 1 << 20 && data < 4 << 20, "data " + data);
        assertEquals(64L << 20, Files.size(f));
        assertEquals(0, SparseFile.dataBytes(Files.createFile(dir.resolve("empty"))));
    }
}
