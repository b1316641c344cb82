package dev.sandbox.server;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.SubmissionPublisher;
import java.util.concurrent.TimeUnit;

/**
 * A request body for the JDK client that passes on each read of {@code in} as it returns. The JDK's own
 * {@code ofInputStream} fills a 16 KiB buffer before it sends anything, so the tail of a body that pauses (an
 * interactive upload, a stream of events) would wait in it for bytes that may never come. At most
 * {@link #IN_FLIGHT} reads wait between the reader and the connection: a slow sandbox slows the caller.
 * One subscription only: the stream can be read once.
 */
final class StreamingBody implements HttpRequest.BodyPublisher {

    static final int CHUNK = 64 * 1024;
    static final int IN_FLIGHT = 4;

    private final InputStream in;
    private final long length;
    private final Executor executor;
    private Thread pump;
    private volatile boolean stopped;

    /** {@code length} -1 when unknown (sent chunked). */
    StreamingBody(InputStream in, long length, Executor executor) {
        this.in = in;
        this.length = length;
        this.executor = executor;
    }

    @Override
    public long contentLength() {
        return length;
    }

    @Override
    public synchronized void subscribe(Flow.Subscriber<? super ByteBuffer> subscriber) {
        SubmissionPublisher<ByteBuffer> out = new SubmissionPublisher<>(executor, IN_FLIGHT);
        if (pump != null) {
            out.subscribe(subscriber);
            out.closeExceptionally(new IOException("the request body can be sent only once"));
            return;
        }
        out.subscribe(subscriber);
        pump = Thread.ofVirtual().name("ports-body").start(() -> pump(out));
    }

    private void pump(SubmissionPublisher<ByteBuffer> out) {
        try {
            byte[] buf = new byte[CHUNK];
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (n > 0 && !send(out, ByteBuffer.wrap(Arrays.copyOf(buf, n)))) {
                    return;
                }
            }
            out.close();
        } catch (IOException | RuntimeException e) {
            out.closeExceptionally(e);
        }
    }

    /**
     * Waits while {@link #IN_FLIGHT} chunks wait; false when nobody takes them any more (the sandbox answered, the
     * request was cut): reading on would only drain the caller.
     */
    private boolean send(SubmissionPublisher<ByteBuffer> out, ByteBuffer chunk) {
        while (out.offer(chunk, 1, TimeUnit.SECONDS, null) < 0) {  // dropped: it did not go, so again
            if (stopped || !out.hasSubscribers()) {
                out.close();
                return false;
            }
        }
        return true;
    }

    /** Stops reading the caller's body if it still does (the exchange is over), and waits for that. */
    void stop() {
        Thread p;
        synchronized (this) {
            stopped = true;
            p = pump;
        }
        if (p != null && p.isAlive()) {
            p.interrupt();
            try {
                p.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
