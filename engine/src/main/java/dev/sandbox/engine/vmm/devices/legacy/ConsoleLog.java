package dev.sandbox.engine.vmm.devices.legacy;

import java.nio.charset.StandardCharsets;

/** The last bytes a guest wrote to its console, kept in a fixed-size ring for diagnostics. Thread-safe. */
public final class ConsoleLog {
    public static final int DEFAULT_CAPACITY = 64 * 1024;

    private final byte[] ring;
    private long total;

    public ConsoleLog() {
        this(DEFAULT_CAPACITY);
    }

    public ConsoleLog(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive");
        }
        ring = new byte[capacity];
    }

    public synchronized void append(byte b) {
        ring[(int) (total % ring.length)] = b;
        total++;
    }

    /** Bytes ever appended, including those that have since been overwritten. */
    public synchronized long totalBytes() {
        return total;
    }

    /** The retained bytes, oldest first. */
    public synchronized byte[] bytes() {
        int kept = (int) Math.min(total, ring.length);
        byte[] out = new byte[kept];
        int start = (int) ((total - kept) % ring.length);
        int first = Math.min(kept, ring.length - start);
        System.arraycopy(ring, start, out, 0, first);
        System.arraycopy(ring, 0, out, first, kept - first);
        return out;
    }

    /** The retained output as text; invalid UTF-8 (such as a character cut by the ring) becomes U+FFFD. */
    public String tail() {
        return new String(bytes(), StandardCharsets.UTF_8);
    }
}
