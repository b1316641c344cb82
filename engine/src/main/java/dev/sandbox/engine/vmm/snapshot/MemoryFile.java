package dev.sandbox.engine.vmm.snapshot;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import java.util.zip.CRC32C;

/**
 * Guest RAM on disk: a file exactly as long as the RAM, written sparsely (pages of zeros become holes, so a
 * fresh guest costs disk for what it touched, not for its size) and replaced atomically. A restored VM maps it
 * copy-on-write, so resuming reads only the pages the guest touches.
 */
public final class MemoryFile {
    static final int PAGE = 4096;
    private static final MemorySegment ZERO_PAGE = MemorySegment.ofArray(new byte[PAGE]);

    private MemoryFile() {
    }

    /** Writes {@code ram} to {@code file}; returns the bytes of data written (the file's disk use, roughly). */
    public static long write(MemorySegment ram, Path file) throws IOException {
        BitSet all = new BitSet();
        all.set(0, (int) (ram.byteSize() / PAGE));
        return write(ram, all, file);
    }

    /**
     * {@link #write(MemorySegment, Path)} looking only at the {@code candidates} pages (the memfd's data pages):
     * every other page is known to be zero and stays a hole, without reading it.
     */
    public static long write(MemorySegment ram, BitSet candidates, Path file) throws IOException {
        if (ram.byteSize() % PAGE != 0) {
            throw new IllegalArgumentException("RAM of " + ram.byteSize() + " bytes is not whole pages");
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        long written = 0;
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            long pages = ram.byteSize() / PAGE;
            long run = -1; // first page of the current run of non-zero pages
            for (long p = 0; p <= pages; p++) {
                boolean data = p < pages && candidates.get((int) p)
                        && MemorySegment.mismatch(ram, p * PAGE, (p + 1) * PAGE, ZERO_PAGE, 0, PAGE) != -1;
                if (data && run < 0) {
                    run = p;
                } else if (!data && run >= 0) {
                    written += writeFully(out, ram.asSlice(run * PAGE, (p - run) * PAGE).asByteBuffer(), run * PAGE);
                    run = -1;
                }
            }
            if (out.size() < ram.byteSize()) { // trailing holes: the length must still be the RAM's
                out.write(ByteBuffer.allocate(1), ram.byteSize() - 1);
            }
            out.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return written;
    }

    /** Checks that {@code file} can back {@code size} bytes of RAM (a shorter file would fault the VMM on access). */
    public static void check(Path file, long size) throws IOException {
        long actual = Files.size(file);
        if (actual != size) {
            throw new SnapshotFormatException("memory file " + file + " has " + actual + " bytes, the snapshot says "
                    + size);
        }
    }

    /** A delta as written: its page count and the CRC32C of the whole file. */
    public record Delta(long pages, long crc) {
    }

    /**
     * Writes the {@code pages} of {@code ram} to {@code file} in the first delta format: a u64 count, the page numbers
     * (u64, increasing), then the pages; durable when this returns. Pauses now write {@link DeltaFile}s, which a
     * restore maps instead of copying; this stays to test that deltas of this format on disk still restore.
     */
    public static Delta writeDelta(MemorySegment ram, BitSet pages, Path file) throws IOException {
        int count = pages.cardinality();
        ByteBuffer index = ByteBuffer.allocate(8 + 8 * count);
        index.putLong(count);
        pages.stream().forEach(p -> index.putLong(p));
        index.flip();
        CRC32C crc = new CRC32C();
        crc.update(index.duplicate());
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            long at = writeFully(out, index, 0);
            for (int p = pages.nextSetBit(0); p >= 0; p = pages.nextSetBit(p + 1)) {
                ByteBuffer page = ram.asSlice((long) p * PAGE, PAGE).asByteBuffer();
                crc.update(page.duplicate());
                at += writeFully(out, page, at);
            }
            out.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(file);
            throw e;
        }
        return new Delta(count, crc.getValue());
    }

    /**
     * Copies a first-format delta's pages into {@code ram} (a restored VM's, before it runs). The file is untrusted: page numbers
     * must increase and fit the RAM, the count and checksum must match what the snapshot recorded.
     */
    public static void applyDelta(Path file, Delta expected, MemorySegment ram) throws IOException {
        long ramPages = ram.byteSize() / PAGE;
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            long count = expected.pages();
            if (count < 0 || count > ramPages || in.size() != 8 + count * 8 + count * PAGE) {
                throw new SnapshotFormatException("delta " + file + " does not hold " + count + " pages");
            }
            ByteBuffer index = ByteBuffer.allocate((int) (8 + 8 * count));
            readFully(in, index, 0);
            index.flip();
            CRC32C crc = new CRC32C();
            crc.update(index.duplicate());
            if (index.getLong() != count) {
                throw new SnapshotFormatException("delta " + file + " has another page count than its snapshot");
            }
            long at = index.capacity();
            long last = -1;
            for (long i = 0; i < count; i++) {
                long page = index.getLong();
                if (page <= last || page >= ramPages) {
                    throw new SnapshotFormatException("delta " + file + ": page " + page + " out of order or range");
                }
                last = page;
                ByteBuffer target = ram.asSlice(page * PAGE, PAGE).asByteBuffer();
                readFully(in, target, at);
                target.flip();
                crc.update(target);
                at += PAGE;
            }
            if (crc.getValue() != expected.crc()) {
                throw new SnapshotFormatException("delta " + file + ": checksum mismatch: the file is corrupt");
            }
        }
    }

    private static void readFully(FileChannel in, ByteBuffer into, long position) throws IOException {
        if (!readAt(in, into, position)) {
            throw new SnapshotFormatException("delta ended early");
        }
    }

    /** Fills {@code into} from {@code position}; false if the file ends first (shared with {@link DeltaFile}). */
    static boolean readAt(FileChannel in, ByteBuffer into, long position) throws IOException {
        while (into.hasRemaining()) {
            int n = in.read(into, position);
            if (n < 0) {
                return false;
            }
            position += n;
        }
        return true;
    }

    /** Writes all of {@code data} at {@code position}; returns its length (shared with {@link DeltaFile}). */
    static long writeFully(FileChannel out, ByteBuffer data, long position) throws IOException {
        long n = data.remaining();
        while (data.hasRemaining()) {
            position += out.write(data, position);
        }
        return n;
    }
}
