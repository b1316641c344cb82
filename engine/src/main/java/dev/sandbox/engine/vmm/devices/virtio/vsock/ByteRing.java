package dev.sandbox.engine.vmm.devices.virtio.vsock;

import java.nio.ByteBuffer;

/** A bounded byte FIFO that grows its storage on demand up to its capacity. Not thread-safe. */
final class ByteRing {
    private final int capacity;
    private byte[] data = new byte[0];
    private int head;
    private int size;

    ByteRing(int capacity) {
        this.capacity = capacity;
    }

    int size() {
        return size;
    }

    int free() {
        return capacity - size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    /** Appends {@code length} bytes from {@code source}'s position; the caller has checked {@link #free()}. */
    void put(ByteBuffer source, int length) {
        if (length > free() || length > source.remaining()) {
            throw new IllegalArgumentException("ring overflow");
        }
        if (length == 0) {
            return;
        }
        ensureStorage(size + length);
        int tail = (head + size) % data.length;
        int first = Math.min(length, data.length - tail);
        source.get(data, tail, first);
        source.get(data, 0, length - first);
        size += length;
    }

    void put(byte[] source) {
        put(ByteBuffer.wrap(source), source.length);
    }

    /** Moves up to {@code destination.remaining()} bytes out; returns how many. */
    int take(ByteBuffer destination) {
        int n = Math.min(size, destination.remaining());
        int first = Math.min(n, data.length - head);
        destination.put(data, head, first);
        destination.put(data, 0, n - first);
        head = data.length == 0 ? 0 : (head + n) % data.length;
        size -= n;
        return n;
    }

    byte[] take(int length) {
        ByteBuffer out = ByteBuffer.allocate(Math.min(length, size));
        take(out);
        return out.array();
    }

    /** A copy of every byte held, leaving them in place. */
    byte[] peekAll() {
        byte[] out = new byte[size];
        int first = Math.min(size, data.length - head);
        System.arraycopy(data, head, out, 0, first);
        System.arraycopy(data, 0, out, first, size - first);
        return out;
    }

    private void ensureStorage(int needed) {
        if (needed <= data.length) {
            return;
        }
        int grown = Math.min(capacity, Math.max(needed, Math.max(4096, data.length * 2)));
        byte[] bigger = new byte[grown];
        int first = Math.min(size, data.length - head);
        System.arraycopy(data, head, bigger, 0, first);
        System.arraycopy(data, 0, bigger, first, size - first);
        data = bigger;
        head = 0;
    }
}
