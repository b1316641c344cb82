package dev.sandbox.engine.vmm.devices.legacy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/** The last bytes a guest wrote to its console, kept in a fixed-size ring for diagnostics. Thread-safe. */
public final class ConsoleLog {
    public static final int DEFAULT_CAPACITY = 64 * 1024;

    /** Longer lines reach the line listener cut to this many bytes. */
    static final int MAX_LINE = 256;

    private final byte[] ring;
    private final Consumer<String> lineListener;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private long total;

    public ConsoleLog() {
        this(DEFAULT_CAPACITY);
    }

    public ConsoleLog(int capacity) {
        this(capacity, ignored -> {
        });
    }

    /**
     * @param lineListener sees each complete line (without CR/LF, at most {@link #MAX_LINE} bytes) on the writing
     *                     thread, e.g. to notice the kernel's last words; it must be quick and must not throw
     */
    public ConsoleLog(int capacity, Consumer<String> lineListener) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive");
        }
        ring = new byte[capacity];
        this.lineListener = lineListener;
    }

    public void append(byte b) {
        String complete = null;
        synchronized (this) {
            ring[(int) (total % ring.length)] = b;
            total++;
            if (b == '\n') {
                complete = line.toString(StandardCharsets.UTF_8);
                line.reset();
            } else if (b != '\r' && line.size() < MAX_LINE) {
                line.write(b);
            }
        }
        if (complete != null) {
            lineListener.accept(complete);
        }
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
