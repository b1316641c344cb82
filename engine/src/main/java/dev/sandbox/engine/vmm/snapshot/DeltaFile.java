package dev.sandbox.engine.vmm.snapshot;

import dev.sandbox.engine.vmm.memory.DeltaRuns;
import dev.sandbox.engine.vmm.memory.PageRun;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * A delta in the page-aligned format (version 2), made to be mapped over the base rather than copied into it (its
 * large runs; see {@link DeltaRuns}):
 * <pre>
 *   0  "SBXDELTA"  magic (read as the first format's u64 page count it would be far beyond any RAM)
 *   8  u32 version = 2, u32 run count, u64 pages stored
 *  24  runs: u64 first guest page, u64 page count, u64 first file page   (in guest order, not overlapping)
 *   .  u32 CRC32C of the header up to here; zeros to the next page boundary
 *      the runs' pages, one after another, page aligned
 * </pre>
 * Little-endian. The snapshot's vmstate records the pages stored and the CRC32C of the whole file, as for the first
 * format ({@link MemoryFile#writeDelta}), so the vmstate format stays as it was and the file says which format it
 * is. A delta file is never written again once made: a restored VM maps it, and a shrinking file under a mapping
 * would fault the process.
 */
public final class DeltaFile {
    static final int PAGE = 4096;
    static final byte[] MAGIC = "SBXDELTA".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 2;
    /**
     * Bounds the run table (24 bytes a run: 384 KiB at most) a reader accepts. Past it the runs merge across the
     * smallest gaps and the pages between are stored too. How many runs a restore maps is bounded separately
     * ({@link DeltaRuns#MAX_MAPPED_RUNS}): merging down to that bound here would store several times the delta for
     * a guest that wrote scattered pages (a 64 MiB delta of clusters of 1 to 32 pages in 512 MiB: 229 MiB stored
     * with 256 runs), and reading it through at restore would cost more than copying the small runs.
     */
    public static final int MAX_RUNS = 16384;
    /**
     * Merging runs toward what a restore maps is worth a gap this long: a stored gap page costs about 2 µs (written
     * at pause, read through at restore), a copied page about 6 µs (DeltaRestoreBench, nested VM), and a run merged
     * away leaves a mapping for another run whose pages would otherwise be copied.
     */
    static final int MAX_BRIDGE = 16;
    static final PageRuns.Limits LIMITS = new PageRuns.Limits(MAX_RUNS, DeltaRuns.MAX_MAPPED_RUNS, MAX_BRIDGE);
    static final int FIXED = 24;
    static final int RUN = 24;
    private static final int READ_CHUNK = 1 << 20;
    private static final long WRITE_CHUNK_PAGES = 1 << 14;

    private DeltaFile() {
    }

    /**
     * Writes {@code pages} of {@code ram} (read through the RAM's mapping, whatever layer a page comes from) to a new
     * {@code file}, durable when this returns. Returns the pages stored (gap pages of merged runs included) and the
     * CRC32C of the whole file.
     */
    public static MemoryFile.Delta write(MemorySegment ram, BitSet pages, Path file) throws IOException {
        return write(ram, pages, file, LIMITS);
    }

    static MemoryFile.Delta write(MemorySegment ram, BitSet pages, Path file, PageRuns.Limits limits)
            throws IOException {
        if (pages.length() > ram.byteSize() / PAGE) {
            throw new IllegalArgumentException("page " + (pages.length() - 1) + " is outside the RAM");
        }
        List<PageRun> planned = PageRuns.plan(pages, limits, 0);
        int headerPages = headerPages(planned.size());
        List<PageRun> runs = planned.stream()
                .map(r -> new PageRun(r.guestPage(), r.pages(), r.filePage() + headerPages)).toList();
        ByteBuffer header = header(runs);
        CRC32C crc = new CRC32C();
        crc.update(header.duplicate());
        long stored = 0;
        // CREATE_NEW: a delta is never rewritten, a live VM may map it
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long at = MemoryFile.writeFully(out, header, 0);
            for (PageRun r : runs) {
                for (long done = 0; done < r.pages(); done += WRITE_CHUNK_PAGES) { // a ByteBuffer holds < 2 GiB
                    long n = Math.min(WRITE_CHUNK_PAGES, r.pages() - done);
                    ByteBuffer data = ram.asSlice((r.guestPage() + done) * PAGE, n * PAGE).asByteBuffer();
                    crc.update(data.duplicate());
                    at += MemoryFile.writeFully(out, data, at);
                }
                stored += r.pages();
            }
            out.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(file);
            throw e;
        }
        return new MemoryFile.Delta(stored, crc.getValue());
    }

    static int headerPages(int runs) {
        return (FIXED + RUN * runs + 4 + PAGE - 1) / PAGE;
    }

    private static ByteBuffer header(List<PageRun> runs) {
        ByteBuffer b = ByteBuffer.allocate(headerPages(runs.size()) * PAGE).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(VERSION).putInt(runs.size()).putLong(runs.stream().mapToLong(PageRun::pages).sum());
        for (PageRun r : runs) {
            b.putLong(r.guestPage()).putLong(r.pages()).putLong(r.filePage());
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        return b.clear();
    }

    /** Whether {@code file} starts as this format does; otherwise it is a delta of the first format (or damaged). */
    public static boolean isMapped(Path file) throws IOException {
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer start = ByteBuffer.allocate(MAGIC.length);
            while (start.hasRemaining() && in.read(start, start.position()) > 0) {
                // a short file is simply not this format
            }
            return !start.hasRemaining() && Arrays.equals(start.array(), MAGIC);
        }
    }

    /**
     * Checks {@code file} against what the snapshot recorded and returns its runs, ready to map over a RAM of
     * {@code ramBytes}. The file is untrusted: the header's own checksum, the run table (in order, inside the RAM,
     * not overlapping, stored back to back exactly as long as the file) and then the CRC32C of the whole file, read
     * through once (not into the guest's RAM), must all hold, or it is a {@link SnapshotFormatException}. The read
     * leaves the pages in the page cache, where the guest's first touches find them.
     */
    public static DeltaRuns verify(Path file, MemoryFile.Delta expected, long ramBytes) throws IOException {
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = in.size();
            if (size < PAGE || size % PAGE != 0) {
                throw corrupt(file, "is " + size + " bytes, not whole pages");
            }
            ByteBuffer fixed = ByteBuffer.allocate(FIXED).order(ByteOrder.LITTLE_ENDIAN);
            readFully(in, fixed, 0, file);
            fixed.flip();
            byte[] magic = new byte[MAGIC.length];
            fixed.get(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw corrupt(file, "has no delta header");
            }
            int version = fixed.getInt();
            if (version != VERSION) {
                throw new SnapshotFormatException("delta " + file + " has version " + version + ", this VMM reads "
                        + VERSION);
            }
            int count = fixed.getInt();
            if (count < 0 || count > MAX_RUNS) {
                throw corrupt(file, "has " + Integer.toUnsignedString(count) + " runs, at most " + MAX_RUNS);
            }
            int headerPages = headerPages(count);
            if (size < (long) headerPages * PAGE) {
                throw corrupt(file, "ends inside its header");
            }
            ByteBuffer header = ByteBuffer.allocate(headerPages * PAGE).order(ByteOrder.LITTLE_ENDIAN);
            readFully(in, header, 0, file);
            int tableEnd = FIXED + RUN * count;
            CRC32C headerCrc = new CRC32C();
            headerCrc.update(header.array(), 0, tableEnd);
            if (header.getInt(tableEnd) != (int) headerCrc.getValue()) {
                throw corrupt(file, "header checksum mismatch");
            }
            List<PageRun> runs = runs(header, count, headerPages, ramBytes / PAGE, file);
            long stored = header.getLong(16);
            long total = runs.stream().mapToLong(PageRun::pages).sum();
            if (stored != total || stored != expected.pages()) {
                throw corrupt(file, "stores " + total + " pages, its header says " + stored + " and its snapshot "
                        + expected.pages());
            }
            if (size != (headerPages + total) * PAGE) {
                throw corrupt(file, "is " + size + " bytes, its runs need " + (headerPages + total) * PAGE);
            }
            CRC32C crc = new CRC32C();
            crc.update(header.flip());
            ByteBuffer chunk = ByteBuffer.allocateDirect(READ_CHUNK); // direct: CRC32C runs on it without a copy
            for (long at = headerPages * (long) PAGE; at < size; at += chunk.limit()) {
                chunk.clear().limit((int) Math.min(READ_CHUNK, size - at));
                readFully(in, chunk, at, file);
                crc.update(chunk.flip());
            }
            if (crc.getValue() != expected.crc()) {
                throw corrupt(file, "checksum mismatch");
            }
            return new DeltaRuns(file, runs);
        }
    }

    private static List<PageRun> runs(ByteBuffer header, int count, long headerPages, long ramPages, Path file) {
        List<PageRun> runs = new ArrayList<>(count);
        long guestEnd = 0;
        long fileNext = headerPages;
        for (int i = 0; i < count; i++) {
            int at = FIXED + RUN * i;
            long guest = header.getLong(at);
            long pages = header.getLong(at + 8);
            long filePage = header.getLong(at + 16);
            if (guest < guestEnd || pages <= 0 || pages > ramPages || guest > ramPages - pages) {
                throw corrupt(file, "run " + i + " (" + pages + " pages at " + guest + ") is out of order or"
                        + " outside the RAM of " + ramPages + " pages");
            }
            if (filePage != fileNext) {
                throw corrupt(file, "run " + i + " is stored at page " + filePage + ", not " + fileNext);
            }
            runs.add(new PageRun(guest, pages, filePage));
            guestEnd = guest + pages;
            fileNext += pages;
        }
        return runs;
    }

    private static SnapshotFormatException corrupt(Path file, String what) {
        return new SnapshotFormatException("delta " + file + " " + what + ": the file is corrupt");
    }

    private static void readFully(FileChannel in, ByteBuffer into, long position, Path file) throws IOException {
        if (!MemoryFile.readAt(in, into, position)) {
            throw corrupt(file, "ended early");
        }
    }
}
