package dev.sandbox.jmh;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * QEMU's serial console on its stdio ({@code -serial stdio}): lines the guest writes, read by a thread of their
 * own, and lines typed into it. The last lines are kept for error messages.
 */
final class SerialConsole {
    private static final int TAIL = 40;

    private final OutputStream in;
    private final Deque<String> lines = new ArrayDeque<>();
    private final Deque<String> tail = new ArrayDeque<>();
    private boolean ended;

    SerialConsole(Process qemu) {
        this.in = qemu.getOutputStream();
        InputStream out = qemu.getInputStream();
        Thread.ofVirtual().name("qemu-console").start(() -> read(out));
    }

    /** Types {@code line} (a newline is added). */
    void type(String line) throws IOException {
        in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        in.flush();
    }

    /** Waits for a line that contains {@code text}; lines before it are dropped (the tail keeps them). */
    synchronized void await(String text, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            while (!lines.isEmpty()) {
                if (lines.poll().contains(text)) {
                    return;
                }
            }
            if (ended) {
                throw new IOException("QEMU exited before \"" + text + "\"; console:\n" + tail());
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new IOException("no \"" + text + "\" on the console in " + timeout + "; console:\n" + tail());
            }
            wait(Math.max(1, left / 1_000_000));
        }
    }

    synchronized String tail() {
        return String.join("\n", tail);
    }

    private void read(InputStream out) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(out, StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                synchronized (this) {
                    lines.add(line);
                    tail.add(line);
                    if (tail.size() > TAIL) {
                        tail.poll();
                    }
                    notifyAll();
                }
            }
        } catch (IOException e) {
            // QEMU was killed: the stream ends here
        } finally {
            synchronized (this) {
                ended = true;
                notifyAll();
            }
        }
    }
}
