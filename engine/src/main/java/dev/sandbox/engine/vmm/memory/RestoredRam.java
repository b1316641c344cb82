package dev.sandbox.engine.vmm.memory;

import dev.sandbox.ffi.Mapping;
import dev.sandbox.ffi.PageMap;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import java.util.List;

/**
 * A restored VM's RAM in layers, no file of them ever written: the base file mapped copy-on-write over the whole
 * RAM, then the delta's large runs mapped copy-on-write over their pages and its small ones copied in. Mapped pages
 * are read from the files as the guest touches them, so a resume costs one mmap per large run instead of a copy of
 * the delta.
 */
public final class RestoredRam {
    private static final long PAGE = DeltaRuns.PAGE;
    /** Copies go through a ByteBuffer, which holds under 2 GiB. */
    private static final long COPY_CHUNK = 1L << 30;

    private RestoredRam() {
    }

    /**
     * The layered mapping of {@code size} bytes; {@code delta} (checked; may be null) must fit it. Closing it unmaps
     * the base and every run (one munmap of the range); if a step fails nothing stays mapped.
     */
    public static Mapping map(Path base, long size, DeltaRuns delta) {
        Mapping mapping = Mapping.ofFile(base, 0, size, Mapping.Sharing.PRIVATE, true);
        if (delta == null || delta.runs().isEmpty()) {
            return mapping;
        }
        try {
            List<PageRun> mapped = delta.mapped();
            if (!mapped.isEmpty()) {
                mapping.overlay(delta.file(), DeltaRuns.overlays(mapped), Mapping.Sharing.PRIVATE, true);
            }
            copy(delta.file(), delta.copied(), mapping);
            return mapping;
        } catch (RuntimeException | Error e) {
            mapping.close(); // idempotent: overlay may have closed it already
            throw e;
        }
    }

    private static void copy(Path file, List<PageRun> runs, Mapping mapping) {
        if (runs.isEmpty()) {
            return;
        }
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            for (PageRun r : runs) {
                for (long done = 0; done < r.pages() * PAGE; done += COPY_CHUNK) {
                    long n = Math.min(COPY_CHUNK, r.pages() * PAGE - done);
                    ByteBuffer into = mapping.segment().asSlice(r.guestPage() * PAGE + done, n).asByteBuffer();
                    long at = r.filePage() * PAGE + done;
                    while (into.hasRemaining()) {
                        int read = in.read(into, at);
                        if (read < 0) {
                            throw new IOException("ended early");
                        }
                        at += read;
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("copying the small runs of the delta " + file + " failed", e);
        }
    }

    /**
     * Pages that differ from the base: those written since {@code mapping} was made (anonymous copies, the copied
     * runs among them) and those of the runs of {@code delta} (may be null).
     */
    public static BitSet changedPages(Mapping mapping, DeltaRuns delta) {
        BitSet pages = PageMap.writtenPages(mapping);
        if (delta != null) {
            pages.or(delta.pages());
        }
        return pages;
    }
}
