package dev.sandbox.engine.vmm.devices.virtio.blk;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** A {@link BlockBackend} over a byte array, counting flushes and failing on demand. */
final class MemoryDisk implements BlockBackend {
    final byte[] bytes;
    int flushes;
    IOException failure;
    boolean closed;

    MemoryDisk(int capacity) {
        bytes = new byte[capacity];
    }

    @Override
    public long capacityBytes() {
        return bytes.length;
    }

    @Override
    public void read(long offset, MemorySegment destination) throws IOException {
        fail();
        MemorySegment.copy(bytes, Math.toIntExact(offset), destination, ValueLayout.JAVA_BYTE, 0,
                Math.toIntExact(destination.byteSize()));
    }

    @Override
    public void write(long offset, MemorySegment source) throws IOException {
        fail();
        MemorySegment.copy(source, ValueLayout.JAVA_BYTE, 0, bytes, Math.toIntExact(offset),
                Math.toIntExact(source.byteSize()));
    }

    @Override
    public void flush() throws IOException {
        fail();
        flushes++;
    }

    @Override
    public String id() {
        return "mem-disk";
    }

    @Override
    public void close() {
        closed = true;
    }

    private void fail() throws IOException {
        if (failure != null) {
            throw failure;
        }
    }
}
