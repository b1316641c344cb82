package dev.sandbox.engine.vmm.devices.virtio.blk;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * One overlay layer: a sparse data file holding blocks at their disk offsets, and its {@link LayerMap}. Only the top
 * layer of a disk is writable; a read-only layer's blocks never change while it is open.
 *
 * <p>A layer's checksum is CRC32C over its map's checksum (4 bytes, big-endian) and then the data of its blocks in
 * block order, so it covers map and data and costs a read of the data, never of the disk's capacity.
 *
 * <p>Read-only layers verified in this process are remembered by the inode, size, modification and change times of
 * their data file and map (64 at most, least recently used dropped): the clones of one template open the template's
 * layers again and again, and a file written since shows as another stamp (its change time moves even when its
 * modification time is set back) and is verified afresh. Their block sets are shared between the disks that use
 * them, which is why a read-only layer never changes its set.
 */
final class Layer implements AutoCloseable {
    private static final int CACHE_SIZE = 64;
    private static final Map<Stamp, Verified> VERIFIED = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Stamp, Verified> eldest) {
            return size() > CACHE_SIZE;
        }
    };

    private record Stamp(Path path, long diskBlocks, FileStamp data, FileStamp map) {
    }

    private record FileStamp(Object inode, long size, Object modified, Object changed) {
    }

    private static final AtomicLong VERIFICATIONS = new AtomicLong();

    private record Verified(BitSet blocks, int mapCrc, long checksum) {
    }

    private final Path path;
    private final FileChannel data;
    private final BitSet blocks;
    private final boolean writable;
    private final long diskBlocks;
    private int mapCrc;
    /** Of a read-only layer: fixed. The top's is computed by {@link #computeChecksum()}. */
    private final long checksum;

    private Layer(Path path, FileChannel data, BitSet blocks, boolean writable, long diskBlocks, int mapCrc,
                  long checksum) {
        this.path = path;
        this.data = data;
        this.blocks = blocks;
        this.writable = writable;
        this.diskBlocks = diskBlocks;
        this.mapCrc = mapCrc;
        this.checksum = checksum;
    }

    /** A new, empty writable layer; refuses a {@code path} or map that exists. */
    static Layer create(Path path, long diskBlocks) throws IOException {
        if (Files.exists(LayerMap.of(path))) {
            throw new FileAlreadyExistsException(LayerMap.of(path).toString());
        }
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            int crc = LayerMap.write(path, new BitSet(), diskBlocks);
            return new Layer(path, ch, new BitSet(), true, diskBlocks, crc, 0);
        } catch (IOException | RuntimeException e) {
            closeQuietly(ch, e);
            Files.deleteIfExists(path);
            throw e;
        }
    }

    /**
     * Opens a read-only layer, verified (or found verified before) and, when {@code expected} is not null, checked
     * against it.
     */
    static Layer openReadOnly(Path path, long diskBlocks, DiskState.Layer expected) throws IOException {
        Stamp before = stamp(path, diskBlocks);
        Verified verified;
        synchronized (VERIFIED) {
            verified = VERIFIED.get(before);
        }
        FileChannel ch = openData(path, StandardOpenOption.READ);
        try {
            if (verified == null) {
                verified = verify(path, ch, diskBlocks);
                if (stamp(path, diskBlocks).equals(before)) {
                    synchronized (VERIFIED) {
                        VERIFIED.put(before, verified);
                    }
                }
            }
            check(path, verified, expected);
            return new Layer(path, ch, verified.blocks(), false, diskBlocks, verified.mapCrc(), verified.checksum());
        } catch (IOException | RuntimeException e) {
            closeQuietly(ch, e);
            throw e;
        }
    }

    /** Opens the writable top of a saved disk, always verified in full against {@code expected}. */
    static Layer openTop(Path path, long diskBlocks, DiskState.Layer expected) throws IOException {
        FileChannel ch = openData(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            Verified verified = verify(path, ch, diskBlocks);
            check(path, verified, expected);
            return new Layer(path, ch, verified.blocks(), true, diskBlocks, verified.mapCrc(), 0);
        } catch (IOException | RuntimeException e) {
            closeQuietly(ch, e);
            throw e;
        }
    }

    Path path() {
        return path;
    }

    boolean has(long block) {
        return blocks.get((int) block);
    }

    long blockCount() {
        return blocks.cardinality();
    }

    /** The index just past the last block held, 0 for none. */
    long end() {
        return blocks.length();
    }

    /** The first block held at or after {@code from}, or -1. */
    long nextBlock(long from) {
        return blocks.nextSetBit((int) from);
    }

    /** Marks blocks {@code [from, to)} held; returns whether any was not before. */
    boolean add(long from, long to) {
        requireWritable();
        boolean added = blocks.nextClearBit((int) from) < to;
        blocks.set((int) from, (int) to);
        return added;
    }

    void read(long offset, MemorySegment destination) throws IOException {
        ByteBuffer buffer = destination.asByteBuffer();
        long at = offset;
        while (buffer.hasRemaining()) {
            int n = data.read(buffer, at);
            if (n < 0) {
                throw new IOException("the disk overlay " + path + " is damaged: its data ends at " + at
                        + " inside a block its map holds");
            }
            at += n;
        }
    }

    void write(long offset, MemorySegment source) throws IOException {
        requireWritable();
        ByteBuffer buffer = source.asByteBuffer();
        long at = offset;
        while (buffer.hasRemaining()) {
            at += data.write(buffer, at);
        }
    }

    /** fdatasync: the data written so far is on disk (the map is not, see {@link #writeMap()}). */
    void forceData() throws IOException {
        data.force(false);
    }

    void writeMap() throws IOException {
        requireWritable();
        mapCrc = LayerMap.write(path, blocks, diskBlocks);
    }

    long checksum() {
        return checksum;
    }

    /** Reads the layer's data to compute its checksum; for the top, whose checksum changes with each write. */
    long computeChecksum() throws IOException {
        return checksum(path, data, blocks, mapCrc);
    }

    DiskState.Layer state(long crc) {
        return new DiskState.Layer(path, crc, blockCount());
    }

    @Override
    public void close() {
        closeQuietly(data, null);
    }

    private void requireWritable() {
        if (!writable) {
            throw new IllegalStateException("the disk overlay " + path + " is read-only");
        }
    }

    private static FileChannel openData(Path path, StandardOpenOption... options) throws IOException {
        try {
            return FileChannel.open(path, options);
        } catch (NoSuchFileException e) {
            throw DiskStateException.missing("disk overlay", path);
        }
    }

    private static Verified verify(Path path, FileChannel ch, long diskBlocks) throws IOException {
        VERIFICATIONS.incrementAndGet();
        LayerMap.Contents map = LayerMap.read(path, diskBlocks);
        long needed = (long) map.blocks().length() * OverlayDisk.BLOCK_SIZE;
        long size = ch.size();
        if (size < needed) {
            throw DiskStateException.damaged(path, "its data has " + size + " bytes, its map holds blocks up to "
                    + needed);
        }
        return new Verified(map.blocks(), map.crc(), checksum(path, ch, map.blocks(), map.crc()));
    }

    private static void check(Path path, Verified verified, DiskState.Layer expected) {
        if (expected == null) {
            return;
        }
        long blocks = verified.blocks().cardinality();
        if (verified.checksum() != expected.crc() || blocks != expected.blocks()) {
            throw DiskStateException.damaged(path, "it holds %d blocks with checksum %08x, the saved state %d with %08x"
                    .formatted(blocks, verified.checksum(), expected.blocks(), expected.crc()));
        }
    }

    private static long checksum(Path path, FileChannel ch, BitSet blocks, int mapCrc) throws IOException {
        CRC32C crc = new CRC32C();
        crc.update(ByteBuffer.allocate(Integer.BYTES).putInt(mapCrc).flip());
        int run = OverlayDisk.RUN / OverlayDisk.BLOCK_SIZE;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(OverlayDisk.RUN, OverlayDisk.BLOCK_SIZE);
            for (int b = blocks.nextSetBit(0); b >= 0; ) {
                int end = Math.min(blocks.nextClearBit(b), b + run);
                ByteBuffer bytes = buffer.asSlice(0, (long) (end - b) * OverlayDisk.BLOCK_SIZE).asByteBuffer();
                long at = (long) b * OverlayDisk.BLOCK_SIZE;
                while (bytes.hasRemaining()) {
                    int n = ch.read(bytes, at);
                    if (n < 0) {
                        throw DiskStateException.damaged(path, "its data ends at " + at
                                + " inside a block its map holds");
                    }
                    at += n;
                }
                crc.update(bytes.flip());
                b = blocks.nextSetBit(end);
            }
        }
        return crc.getValue();
    }

    /** How many layers were verified by reading them, in this process; for tests of the cache. */
    static long verifications() {
        return VERIFICATIONS.get();
    }

    private static Stamp stamp(Path path, long diskBlocks) throws IOException {
        FileStamp data;
        try {
            data = fileStamp(path);
        } catch (NoSuchFileException e) {
            throw DiskStateException.missing("disk overlay", path);
        }
        Path map = LayerMap.of(path);
        try {
            return new Stamp(path, diskBlocks, data, fileStamp(map));
        } catch (NoSuchFileException e) {
            throw DiskStateException.damaged(path, "its map " + map.getFileName() + " is missing");
        }
    }

    private static FileStamp fileStamp(Path file) throws IOException {
        Map<String, Object> a = Files.readAttributes(file, "unix:ino,size,lastModifiedTime,ctime");
        return new FileStamp(a.get("ino"), (Long) a.get("size"), a.get("lastModifiedTime"), a.get("ctime"));
    }

    static void closeQuietly(AutoCloseable c, Throwable failure) {
        try {
            c.close();
        } catch (Exception e) {
            if (failure != null) {
                failure.addSuppressed(e);
            }
        }
    }
}
