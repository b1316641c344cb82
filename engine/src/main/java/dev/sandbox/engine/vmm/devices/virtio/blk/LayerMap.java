package dev.sandbox.engine.vmm.devices.virtio.blk;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.BitSet;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;

/**
 * The sidecar map of an overlay layer, {@code <layer>.map}: which blocks the layer's data file holds. Big-endian:
 * <pre>
 * u8[8] magic "SBXOVMAP"
 * u32   version (1)
 * u32   block size (4096)
 * u64   disk blocks (the disk's capacity in blocks)
 * u64   blocks set
 * u64   words: how many non-zero 64-bit words follow
 * words x { u64 index; u64 bits }   indexes increasing; bit i of word w is block 64 w + i
 * u32   CRC32C of everything before it
 * </pre>
 * Only non-zero words are stored, so a map grows with the data its layer holds, never with the disk's capacity.
 * Written to a temporary sibling, forced and renamed over the old one, then the directory is forced: a crash leaves
 * the old map or the new one.
 */
final class LayerMap {
    static final int VERSION = 1;
    private static final byte[] MAGIC = "SBXOVMAP".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER = MAGIC.length + 4 + 4 + 8 + 8 + 8;
    private static final int WORD = 16;

    /** A map as read: the blocks and the map's own checksum (which a layer's checksum starts with). */
    record Contents(BitSet blocks, int crc) {
    }

    private LayerMap() {
    }

    static Path of(Path layer) {
        return layer.resolveSibling(layer.getFileName() + ".map");
    }

    /** Replaces the map of {@code layer} with {@code blocks}; returns the map's checksum. */
    static int write(Path layer, BitSet blocks, long diskBlocks) throws IOException {
        Path map = of(layer);
        Path tmp = map.resolveSibling(map.getFileName() + ".tmp");
        long[] words = blocks.toLongArray();
        long nonZero = Arrays.stream(words).filter(w -> w != 0).count();
        CRC32C crc = new CRC32C();
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                DataOutputStream out = new DataOutputStream(new CheckedOutputStream(
                        new BufferedOutputStream(Channels.newOutputStream(ch)), crc));
                out.write(MAGIC);
                out.writeInt(VERSION);
                out.writeInt(OverlayDisk.BLOCK_SIZE);
                out.writeLong(diskBlocks);
                out.writeLong(blocks.cardinality());
                out.writeLong(nonZero);
                for (int i = 0; i < words.length; i++) {
                    if (words[i] != 0) {
                        out.writeLong(i);
                        out.writeLong(words[i]);
                    }
                }
                int value = (int) crc.getValue();
                out.writeInt(value);
                out.flush(); // not closed: the channel's own close below is the one that counts
                ch.force(true);
                Files.move(tmp, map, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                syncDirectory(map.toAbsolutePath().getParent());
                return value;
            }
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /**
     * Reads and checks the map of {@code layer} for a disk of {@code diskBlocks} blocks. The file is untrusted: its
     * size must match its word count before anything is read, and every field must be consistent.
     */
    static Contents read(Path layer, long diskBlocks) throws IOException {
        Path map = of(layer);
        try (FileChannel ch = FileChannel.open(map, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER + 4) {
                throw damaged(layer, map, "it has " + size + " bytes, less than a header");
            }
            CRC32C crc = new CRC32C();
            DataInputStream in = new DataInputStream(new CheckedInputStream(
                    new BufferedInputStream(Channels.newInputStream(ch)), crc)); // summed as consumed, not as buffered
            byte[] magic = in.readNBytes(MAGIC.length);
            if (!Arrays.equals(magic, MAGIC)) {
                throw damaged(layer, map, "it is not a layer map");
            }
            int version = in.readInt();
            if (version != VERSION) {
                throw damaged(layer, map, "map version " + version + ", this build reads " + VERSION);
            }
            int blockSize = in.readInt();
            long blocks = in.readLong();
            if (blockSize != OverlayDisk.BLOCK_SIZE || blocks != diskBlocks) {
                throw damaged(layer, map, "it maps " + blocks + " blocks of " + blockSize + " bytes, the disk has "
                        + diskBlocks + " of " + OverlayDisk.BLOCK_SIZE);
            }
            long set = in.readLong();
            long words = in.readLong();
            long maxWords = (diskBlocks + 63) / 64;
            if (words < 0 || words > maxWords || size != HEADER + words * WORD + 4) {
                throw damaged(layer, map, "it has " + size + " bytes, not the size of " + words + " words");
            }
            BitSet bits = new BitSet();
            long last = -1;
            for (long i = 0; i < words; i++) {
                long index = in.readLong();
                long word = in.readLong();
                if (index <= last || index >= maxWords || word == 0) {
                    throw damaged(layer, map, "word " + i + " (index " + index + ") is out of order, range or empty");
                }
                if (index == maxWords - 1 && diskBlocks % 64 != 0 && word >>> (diskBlocks % 64) != 0) {
                    throw damaged(layer, map, "it holds blocks past the end of the disk");
                }
                last = index;
                for (long w = word; w != 0; w &= w - 1) {
                    bits.set((int) (index * 64 + Long.numberOfTrailingZeros(w)));
                }
            }
            int expected = (int) crc.getValue();
            int stored = in.readInt();
            if (stored != expected) {
                throw damaged(layer, map, "its checksum does not match its contents");
            }
            if (bits.cardinality() != set) {
                throw damaged(layer, map, "it says " + set + " blocks but holds " + bits.cardinality());
            }
            return new Contents(bits, stored);
        } catch (NoSuchFileException e) {
            throw DiskStateException.damaged(layer, "its map " + map.getFileName() + " is missing");
        } catch (EOFException e) {
            throw damaged(layer, map, "it ends early");
        }
    }

    private static DiskStateException damaged(Path layer, Path map, String why) {
        return DiskStateException.damaged(layer, "its map " + map.getFileName() + ": " + why);
    }

    // Makes a rename durable; a file system that cannot open a directory keeps it as durable as it makes it.
    static void syncDirectory(Path dir) {
        if (dir == null) {
            return;
        }
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // best effort, see above
        }
    }
}
