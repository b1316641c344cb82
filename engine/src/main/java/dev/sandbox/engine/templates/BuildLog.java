package dev.sandbox.engine.templates;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.List;

/**
 * A build's log, {@code build.log} in its template's folder: lines appended as they come (each written through at
 * once, so a crash keeps what was logged), at most {@link #MAX_BYTES}; past that one note says so and later lines
 * are left out of the file. The last {@link #TAIL_LINES} lines are always kept in memory, dropped ones included,
 * for a failed build's message. Never throws: a log that cannot be written must not fail the build it describes.
 * Thread-safe (a runner may log stdout and stderr from two threads).
 */
public final class BuildLog implements AutoCloseable {

    public static final long MAX_BYTES = 1024 * 1024;
    public static final int TAIL_LINES = 30;
    /** Longer lines are cut in the tail, and a partial line of raw output is broken there. */
    static final int MAX_LINE_CHARS = 4096;

    private final OutputStream out;
    private final long maxBytes;
    private final ArrayDeque<String> tail = new ArrayDeque<>();
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
    private long written;
    private boolean full;
    private boolean closed;

    private BuildLog(OutputStream out, long maxBytes) {
        this.out = out;
        this.maxBytes = maxBytes;
    }

    /** Creates (or empties) {@code file} and logs into it, bounded by {@link #MAX_BYTES}. */
    public static BuildLog open(Path file) throws IOException {
        return open(file, MAX_BYTES);
    }

    static BuildLog open(Path file, long maxBytes) throws IOException {
        return new BuildLog(Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING), maxBytes);
    }

    /** Logs {@code text}; each line of it (split at newlines, carriage returns dropped) is one line of the log. */
    public synchronized void line(String text) {
        flushPartial();
        for (String line : text.split("\n", -1)) {
            append(line);
        }
    }

    /** Logs raw output (a command's stdout or stderr) as it comes: lines end at '\n', a last partial one waits. */
    public synchronized void output(byte[] bytes, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            byte b = bytes[i];
            if (b == '\n') {
                flushPartial();
            } else {
                partial.write(b);
                if (partial.size() >= MAX_LINE_CHARS) {
                    flushPartial();
                }
            }
        }
    }

    /** The last lines logged, oldest first (at most {@link #TAIL_LINES}). */
    public synchronized List<String> tail() {
        return List.copyOf(tail);
    }

    /** Bytes written to the file so far (the note included). */
    synchronized long bytesWritten() {
        return written;
    }

    /** Ends a pending partial line and closes the file; lines logged later go to the tail only. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        flushPartial();
        closed = true;
        try {
            out.close();
        } catch (IOException e) {
            remember("[build log: closing failed: " + e.getMessage() + "]");
        }
    }

    private void flushPartial() {
        if (partial.size() > 0) {
            String line = partial.toString(StandardCharsets.UTF_8);
            partial.reset();
            append(line);
        }
    }

    private void append(String raw) {
        String line = raw.replace("\r", "");
        remember(line);
        if (full || closed) {
            return;
        }
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            if (written + bytes.length > maxBytes) {
                full = true;
                bytes = ("[build log over " + maxBytes + " bytes: later lines are left out of this file]\n")
                        .getBytes(StandardCharsets.UTF_8);
            }
            out.write(bytes);
            out.flush();
            written += bytes.length;
        } catch (IOException e) {
            full = true;
            remember("[build log: writing failed, later lines are left out of the file: " + e.getMessage() + "]");
        }
    }

    private void remember(String line) {
        tail.addLast(line.length() <= MAX_LINE_CHARS ? line : line.substring(0, MAX_LINE_CHARS) + "...");
        while (tail.size() > TAIL_LINES) {
            tail.removeFirst();
        }
    }
}
