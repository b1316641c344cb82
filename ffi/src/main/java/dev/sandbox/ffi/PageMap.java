package dev.sandbox.ffi;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;

/**
 * Which pages of a private file mapping this process has written: {@code /proc/self/pagemap} has one u64 per
 * virtual page, and a written page of a {@code MAP_PRIVATE} file mapping is an anonymous copy (present without the
 * file-page bit, or swapped out). Works unprivileged: only page frame numbers are hidden, not these flags.
 */
public final class PageMap {
    static final Path PAGEMAP = Path.of("/proc/self/pagemap");
    static final long PAGE = 4096;
    static final long PRESENT = 1L << 63;
    static final long SWAPPED = 1L << 62;
    static final long FILE_OR_SHARED = 1L << 61;
    private static final int BATCH_PAGES = 64 * 1024;

    private PageMap() {
    }

    /** Bit i set: page i of {@code mapping} (a private file mapping) was written since it was mapped. */
    public static BitSet writtenPages(Mapping mapping) {
        return scan(mapping, entry -> ((entry & PRESENT) != 0 && (entry & FILE_OR_SHARED) == 0)
                || (entry & SWAPPED) != 0);
    }

    private static BitSet scan(Mapping mapping, java.util.function.LongPredicate wanted) {
        long pages = mapping.byteSize() / PAGE;
        BitSet written = new BitSet((int) pages);
        ByteBuffer buf = ByteBuffer.allocateDirect(BATCH_PAGES * 8).order(ByteOrder.nativeOrder());
        try (FileChannel in = FileChannel.open(PAGEMAP, StandardOpenOption.READ)) {
            for (long first = 0; first < pages; first += BATCH_PAGES) {
                int count = (int) Math.min(BATCH_PAGES, pages - first);
                buf.clear().limit(count * 8);
                long offset = (mapping.address() / PAGE + first) * 8;
                while (buf.hasRemaining()) {
                    if (in.read(buf, offset + buf.position()) < 0) {
                        throw new IOException("pagemap ended early");
                    }
                }
                for (int i = 0; i < count; i++) {
                    if (wanted.test(buf.getLong(i * 8))) {
                        written.set((int) (first + i));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + PAGEMAP + " failed", e);
        }
        return written;
    }
}
