package dev.sandbox.engine.vmm.devices.virtio.blk;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * The host side of a {@link VirtioBlk} device: a disk of {@link #capacityBytes()} bytes. The device calls it with its
 * lock held, from the thread that delivers queue notifications, and has already checked every range against the
 * capacity; any byte offset and length inside it are valid (requests are sector-granular, the pieces they are made of
 * need not be). The segments are views of guest memory, so data moves between the file and the guest without a copy
 * through the heap.
 */
public interface BlockBackend extends AutoCloseable {
    /** The disk's size; a multiple of 512. */
    long capacityBytes();

    /** Fills all of {@code destination} with the disk's bytes from {@code offset}. */
    void read(long offset, MemorySegment destination) throws IOException;

    /** Writes all of {@code source} to the disk at {@code offset}; durable only after {@link #flush()}. */
    void write(long offset, MemorySegment source) throws IOException;

    /** Makes everything written so far durable. */
    void flush() throws IOException;

    /** The serial the guest reads with GET_ID: at most 20 bytes of UTF-8. */
    String id();

    /** Releases every file the backend holds; idempotent. Does not flush. */
    @Override
    void close();
}
