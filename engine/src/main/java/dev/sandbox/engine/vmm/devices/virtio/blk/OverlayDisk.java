package dev.sandbox.engine.vmm.devices.virtio.blk;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A copy-on-write disk: a read-only base image, read-only lower overlays and one writable top overlay (see
 * {@link Layer}). A block is read from the topmost layer that holds it, else from the base, else it is zeros (the
 * capacity may exceed the base). Writes go to the top only; a write that covers part of a block the top lacks first
 * copies the block up from below. The base and the lowers are opened read-only and never written, so one template's
 * files serve every clone.
 *
 * <p>Durability: {@link #flush()} fdatasyncs the top's data, then replaces its map if it changed. A crash loses at
 * most what was written after the last flush, as on a real disk: the map names only blocks whose data was synced.
 *
 * <p>Snapshots: {@link #sync()} flushes and returns a {@link DiskState}; {@link #open(DiskState)} reopens exactly that
 * disk or refuses with a {@link DiskStateException} naming the file that changed, is damaged or is missing. Both
 * cost a read of the layers' data (their checksums), never of the capacity: the files are sparse and the maps list
 * only the blocks held. The state stops matching as soon as the top is written again.
 *
 * <p>Threads: every method takes the disk's lock; the device thread reads and writes, and the thread that pauses the
 * VM calls {@link #sync()} once the device is stopped.
 */
public final class OverlayDisk implements BlockBackend {
    public static final int BLOCK_SIZE = 4096;
    public static final int MAX_LAYERS = 16;
    /** The largest capacity: 2^28 blocks, so block numbers fit the bit sets' int indexes with room to spare. */
    public static final long MAX_CAPACITY = 1L << 40;
    /** The most one pread or pwrite moves; bounds the buffers of checksums and exports. */
    static final int RUN = 1 << 20;
    static final int ID_BYTES = 20;

    private static final int BASE = -1;
    private static final int ZERO = -2;

    private final DiskState.Base base;
    private final FileChannel baseData;
    private final List<Layer> layers;
    private final Layer top;
    private final long capacity;
    private final MemorySegment scratch = Arena.ofAuto().allocate(BLOCK_SIZE, BLOCK_SIZE);
    private boolean mapDirty;
    /** The top was written since its checksum was last computed. */
    private boolean changed = true;
    private long topChecksum;
    private boolean closed;

    private OverlayDisk(DiskState.Base base, FileChannel baseData, List<Layer> layers, long capacity) {
        this.base = base;
        this.baseData = baseData;
        this.layers = List.copyOf(layers);
        this.top = layers.getLast();
        this.capacity = capacity;
    }

    /**
     * A new disk of {@code capacityBytes} over {@code base} and {@code lowers} (bottom first) with a new, empty top
     * at {@code top}, which must not exist. The lowers are verified against their maps (once per process).
     */
    public static OverlayDisk create(Path base, List<Path> lowers, Path top, long capacityBytes) throws IOException {
        checkCapacity(capacityBytes);
        if (lowers.size() + 1 > MAX_LAYERS) {
            throw new IllegalArgumentException("a disk has at most " + MAX_LAYERS + " layers, not " + (lowers.size() + 1));
        }
        Path baseFile = base.toAbsolutePath();
        List<DiskState.Layer> below = new ArrayList<>();
        for (Path lower : lowers) {
            below.add(new DiskState.Layer(lower.toAbsolutePath(), 0, 0));
        }
        return assemble(baseFile, null, below, false, top.toAbsolutePath(), capacityBytes);
    }

    /**
     * A new disk over every layer of a saved one (a template's), all of them read-only now, with a new, empty top at
     * {@code top}. The saved files are verified against {@code below} like {@link #open}.
     */
    public static OverlayDisk createOver(DiskState below, Path top) throws IOException {
        if (below.layers().size() + 1 > MAX_LAYERS) {
            throw new IllegalArgumentException("a disk has at most " + MAX_LAYERS + " layers; " + below.layers().size()
                    + " are below already");
        }
        return assemble(below.base().path(), below.base(), below.layers(), true, top.toAbsolutePath(),
                below.capacityBytes());
    }

    /** Reopens a saved disk, its last layer writable; refuses any file that does not match {@code state}. */
    public static OverlayDisk open(DiskState state) throws IOException {
        List<DiskState.Layer> lowers = state.layers().subList(0, state.layers().size() - 1);
        return assemble(state.base().path(), state.base(), lowers, true, null, state.capacityBytes(), state.top());
    }

    private static OverlayDisk assemble(Path baseFile, DiskState.Base expectedBase, List<DiskState.Layer> lowers,
                                        boolean checkLowers, Path newTop, long capacity) throws IOException {
        return assemble(baseFile, expectedBase, lowers, checkLowers, newTop, capacity, null);
    }

    // Opens the base, then the lowers, then the top (new at newTop, or the saved savedTop); closes all on failure.
    private static OverlayDisk assemble(Path baseFile, DiskState.Base expectedBase, List<DiskState.Layer> lowers,
                                        boolean checkLowers, Path newTop, long capacity, DiskState.Layer savedTop)
            throws IOException {
        long diskBlocks = capacity / BLOCK_SIZE;
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            FileChannel baseData;
            try {
                baseData = FileChannel.open(baseFile, StandardOpenOption.READ);
            } catch (NoSuchFileException e) {
                throw DiskStateException.missing("disk base", baseFile);
            }
            opened.add(baseData);
            DiskState.Base base = new DiskState.Base(baseFile, baseData.size(),
                    Files.getLastModifiedTime(baseFile).toMillis());
            if (expectedBase != null && !expectedBase.equals(base)) {
                throw new DiskStateException("the disk base " + baseFile + " changed after the disk was saved: "
                        + base.size() + " bytes modified at " + base.modifiedMillis() + ", saved "
                        + expectedBase.size() + " bytes modified at " + expectedBase.modifiedMillis());
            }
            List<Layer> layers = new ArrayList<>();
            for (DiskState.Layer lower : lowers) {
                Layer layer = Layer.openReadOnly(lower.path(), diskBlocks, checkLowers ? lower : null);
                opened.add(layer);
                layers.add(layer);
            }
            Layer top = savedTop != null ? Layer.openTop(savedTop.path(), diskBlocks, savedTop)
                    : Layer.create(newTop, diskBlocks);
            layers.add(top);
            return new OverlayDisk(base, baseData, layers, capacity);
        } catch (IOException | RuntimeException e) {
            for (AutoCloseable c : opened.reversed()) {
                Layer.closeQuietly(c, e);
            }
            throw e;
        }
    }

    private static void checkCapacity(long capacityBytes) {
        if (capacityBytes <= 0 || capacityBytes > MAX_CAPACITY || capacityBytes % BLOCK_SIZE != 0) {
            throw new IllegalArgumentException("disk capacity " + capacityBytes + " is not a positive multiple of "
                    + BLOCK_SIZE + " up to " + MAX_CAPACITY);
        }
    }

    @Override
    public long capacityBytes() {
        return capacity;
    }

    /** The top layer's file name, cut to the 20 bytes a virtio-blk serial holds. */
    @Override
    public String id() {
        byte[] name = top.path().getFileName().toString().getBytes(StandardCharsets.UTF_8);
        return new String(name, 0, Math.min(name.length, ID_BYTES), StandardCharsets.UTF_8);
    }

    /** The layers' files, bottom first, the top last (not the base). */
    public List<Path> layerFiles() {
        return layers.stream().map(Layer::path).toList();
    }

    /** The bytes of data the top layer holds. */
    public synchronized long dataBytes() {
        return top.blockCount() * BLOCK_SIZE;
    }

    @Override
    public synchronized void read(long offset, MemorySegment destination) throws IOException {
        requireOpen();
        checkRange(offset, destination.byteSize());
        readBelow(offset, destination, layers.size() - 1);
    }

    @Override
    public synchronized void write(long offset, MemorySegment source) throws IOException {
        requireOpen();
        checkRange(offset, source.byteSize());
        long end = offset + source.byteSize();
        long at = offset;
        while (at < end) {
            long block = at / BLOCK_SIZE;
            long blockStart = block * BLOCK_SIZE;
            if (!top.has(block) && (at != blockStart || end - at < BLOCK_SIZE)) {
                long n = Math.min(blockStart + BLOCK_SIZE, end) - at;
                copyUp(block, at - blockStart, source.asSlice(at - offset, n));
                at += n;
                continue;
            }
            // A run of blocks the write covers whole or the top holds already: straight to the top.
            long runEnd = blockStart + BLOCK_SIZE;
            while (runEnd < end && runEnd - at < RUN && (end - runEnd >= BLOCK_SIZE || top.has(runEnd / BLOCK_SIZE))) {
                runEnd += BLOCK_SIZE;
            }
            long n = Math.min(runEnd, end) - at;
            changed = true;
            top.write(at, source.asSlice(at - offset, n));
            mapDirty |= top.add(block, (at + n - 1) / BLOCK_SIZE + 1);
            at += n;
        }
    }

    @Override
    public synchronized void flush() throws IOException {
        requireOpen();
        top.forceData();
        if (mapDirty) {
            top.writeMap();
            mapDirty = false;
        }
    }

    /** Flushes, then returns the state that {@link #open(DiskState)} reopens; call it with the device stopped. */
    public synchronized DiskState sync() throws IOException {
        flush();
        if (changed) {
            topChecksum = top.computeChecksum();
            changed = false;
        }
        List<DiskState.Layer> states = new ArrayList<>();
        for (Layer layer : layers) {
            states.add(layer.state(layer == top ? topChecksum : layer.checksum()));
        }
        return new DiskState(base, states, capacity);
    }

    /**
     * Writes the whole disk, flattened, to {@code image}: {@code capacityBytes()} long, blocks of zeros left as holes,
     * forced and renamed into place (a template base made from this disk). Reads the base and the layers' blocks,
     * nothing past them.
     */
    public synchronized void exportTo(Path image) throws IOException {
        requireOpen();
        Path tmp = image.resolveSibling(image.getFileName() + ".tmp");
        long diskBlocks = capacity / BLOCK_SIZE;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(RUN, BLOCK_SIZE);
            MemorySegment zero = arena.allocate(BLOCK_SIZE);
            try (RandomAccessFile file = new RandomAccessFile(tmp.toFile(), "rw")) {
                file.setLength(0);
                file.setLength(capacity); // a hole: only data blocks get written
                FileChannel out = file.getChannel();
                for (long b = nextDataBlock(0); b < diskBlocks; b = nextDataBlock(b)) {
                    long count = Math.min(RUN / BLOCK_SIZE, diskBlocks - b);
                    readBelow(b * BLOCK_SIZE, buffer.asSlice(0, count * BLOCK_SIZE), layers.size() - 1);
                    for (long i = 0; i < count; i++) {
                        MemorySegment block = buffer.asSlice(i * BLOCK_SIZE, BLOCK_SIZE);
                        if (MemorySegment.mismatch(block, 0, BLOCK_SIZE, zero, 0, BLOCK_SIZE) != -1) {
                            ByteBuffer bytes = block.asByteBuffer();
                            long at = (b + i) * BLOCK_SIZE;
                            while (bytes.hasRemaining()) {
                                at += out.write(bytes, at);
                            }
                        }
                    }
                    b += count;
                }
                out.force(true);
            }
            Files.move(tmp, image, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            LayerMap.syncDirectory(image.toAbsolutePath().getParent());
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /** Releases every file; idempotent. Does not flush: {@link #sync()} or {@link #flush()} first keeps the writes. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Layer layer : layers.reversed()) {
            layer.close();
        }
        Layer.closeQuietly(baseData, null);
    }

    /** The first block at or after {@code from} that may hold data: inside the base, or held by a layer. */
    private long nextDataBlock(long from) {
        if (from * BLOCK_SIZE < base.size()) {
            return from;
        }
        long next = capacity / BLOCK_SIZE;
        for (Layer layer : layers) {
            long b = layer.nextBlock(from);
            if (b >= 0 && b < next) {
                next = b;
            }
        }
        return next;
    }

    // Fills a block the top lacks from the layers below, lays the written part over it, and moves it up whole.
    private void copyUp(long block, long within, MemorySegment part) throws IOException {
        long blockStart = block * BLOCK_SIZE;
        readBelow(blockStart, scratch, layers.size() - 2);
        MemorySegment.copy(part, 0, scratch, within, part.byteSize());
        changed = true;
        top.write(blockStart, scratch);
        mapDirty |= top.add(block, block + 1);
    }

    /** Reads {@code destination} from layers {@code highest} and below, the base, and zeros, in runs per source. */
    private void readBelow(long offset, MemorySegment destination, int highest) throws IOException {
        long end = offset + destination.byteSize();
        long at = offset;
        while (at < end) {
            long block = at / BLOCK_SIZE;
            int source = source(block, highest);
            long runEnd = (block + 1) * BLOCK_SIZE;
            while (runEnd < end && runEnd - at < RUN && source(runEnd / BLOCK_SIZE, highest) == source) {
                runEnd += BLOCK_SIZE;
            }
            MemorySegment piece = destination.asSlice(at - offset, Math.min(runEnd, end) - at);
            switch (source) {
                case ZERO -> piece.fill((byte) 0);
                case BASE -> readBase(at, piece);
                default -> layers.get(source).read(at, piece);
            }
            at += piece.byteSize();
        }
    }

    private int source(long block, int highest) {
        for (int i = highest; i >= 0; i--) {
            if (layers.get(i).has(block)) {
                return i;
            }
        }
        return block * BLOCK_SIZE < base.size() ? BASE : ZERO;
    }

    // The base may end inside the piece (its size need not be whole blocks): the rest reads as zeros.
    private void readBase(long offset, MemorySegment piece) throws IOException {
        long inBase = Math.max(0, Math.min(piece.byteSize(), base.size() - offset));
        ByteBuffer bytes = piece.asSlice(0, inBase).asByteBuffer();
        long at = offset;
        while (bytes.hasRemaining()) {
            int n = baseData.read(bytes, at);
            if (n < 0) {
                throw new IOException("the disk base " + base.path() + " shrank to " + at + " bytes while in use");
            }
            at += n;
        }
        piece.asSlice(inBase).fill((byte) 0);
    }

    private void checkRange(long offset, long length) {
        if (offset < 0 || length < 0 || offset > capacity || length > capacity - offset) {
            throw new IllegalArgumentException("%d bytes at %d outside a disk of %d bytes"
                    .formatted(length, offset, capacity));
        }
    }

    private void requireOpen() throws IOException {
        if (closed) {
            throw new IOException("the disk with top overlay " + top.path() + " is closed");
        }
    }

    @Override
    public String toString() {
        return "OverlayDisk[" + base.path() + " + " + Arrays.toString(layers.stream().map(Layer::path).toArray()) + "]";
    }
}
