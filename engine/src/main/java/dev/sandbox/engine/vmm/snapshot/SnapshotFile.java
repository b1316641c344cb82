package dev.sandbox.engine.vmm.snapshot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.CRC32C;

/**
 * The snapshot container on disk. Big-endian: 8-byte magic {@code "SBXSNAP\0"}, u32 format version, u64 payload
 * length, the payload, then a u32 CRC32C over everything before it. Written to a temporary sibling, forced, and
 * renamed over the target, so a crash leaves either the old snapshot or the new one, never half of one.
 */
public final class SnapshotFile {
    /** 2: each vCPU keeps its CPUID and TSC frequency, and always its XSAVE area (for MXCSR). */
    public static final int VERSION = 2;

    private static final byte[] MAGIC = "SBXSNAP\0".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER = MAGIC.length + Integer.BYTES + Long.BYTES;
    private static final int TRAILER = Integer.BYTES;
    // The largest byte[] the JVM reliably allocates.
    private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    private SnapshotFile() {}

    /** Replaces {@code file} atomically with a snapshot holding {@code payload}. */
    public static void write(Path file, byte[] payload) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(HEADER).put(MAGIC).putInt(VERSION).putLong(payload.length).flip();
        CRC32C crc = new CRC32C();
        crc.update(header.duplicate());
        crc.update(payload);
        ByteBuffer trailer = ByteBuffer.allocate(TRAILER).putInt((int) crc.getValue()).flip();

        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer[] parts = {header, ByteBuffer.wrap(payload), trailer};
                while (trailer.hasRemaining()) {
                    ch.write(parts);
                }
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        syncDirectory(file.toAbsolutePath().getParent());
    }

    /**
     * The payload of the snapshot in {@code file}, refusing it unless it is whole and intact and its payload is at
     * most {@code maxPayload} bytes. The length field is checked against the file's size before anything is
     * allocated, so a hostile length costs nothing.
     */
    public static byte[] read(Path file, long maxPayload) throws IOException {
        if (maxPayload < 0) {
            throw new IllegalArgumentException("maxPayload " + maxPayload + " is negative");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER + TRAILER) {
                throw refused(file, "too short for a snapshot: " + size + " bytes, a snapshot has at least "
                        + (HEADER + TRAILER));
            }
            ByteBuffer header = readFully(ch, file, HEADER);
            byte[] magic = new byte[MAGIC.length];
            header.get(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw refused(file, "not a snapshot file: magic " + HexFormat.of().formatHex(magic) + ", expected "
                        + HexFormat.of().formatHex(MAGIC));
            }
            int version = header.getInt();
            if (version != VERSION) {
                throw refused(file, "snapshot format version " + Integer.toUnsignedString(version)
                        + ", this engine reads " + VERSION);
            }
            long length = header.getLong();
            checkLength(file, length, maxPayload, size);

            byte[] payload = new byte[(int) length];
            readFully(ch, file, ByteBuffer.wrap(payload));
            int stored = readFully(ch, file, TRAILER).getInt();
            CRC32C crc = new CRC32C();
            crc.update(header.flip());
            crc.update(payload);
            if (stored != (int) crc.getValue()) {
                throw refused(file, "checksum mismatch: the file is corrupt");
            }
            return payload;
        }
    }

    private static void checkLength(Path file, long length, long maxPayload, long size) {
        if (length < 0) {
            throw refused(file, "payload length " + length + " is negative");
        }
        if (length > maxPayload) {
            throw refused(file, "payload length " + length + " is over the limit of " + maxPayload + " bytes");
        }
        if (length != size - HEADER - TRAILER) {
            throw refused(file, "payload length " + length + " does not match the file size " + size
                    + " (which holds " + (size - HEADER - TRAILER) + " payload bytes)");
        }
        if (length > MAX_ARRAY) {
            throw refused(file, "payload length " + length + " is too large to load");
        }
    }

    private static ByteBuffer readFully(FileChannel ch, Path file, int n) throws IOException {
        return readFully(ch, file, ByteBuffer.allocate(n)).flip();
    }

    private static ByteBuffer readFully(FileChannel ch, Path file, ByteBuffer into) throws IOException {
        while (into.hasRemaining()) {
            if (ch.read(into) < 0) {
                // The file shrank after its size was measured.
                throw refused(file, "truncated while reading");
            }
        }
        return into;
    }

    // Makes the rename itself durable; some file systems cannot open a directory, and then the rename stays
    // as durable as that file system makes it.
    private static void syncDirectory(Path dir) {
        if (dir == null) {
            return;
        }
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // best effort, see above
        }
    }

    private static SnapshotFormatException refused(Path file, String why) {
        return new SnapshotFormatException("snapshot " + file + ": " + why);
    }
}
