package dev.sandbox.engine.agent;

import dev.sandbox.engine.agent.AgentException.Kind;
import dev.sandbox.engine.agent.AgentMessage.Reply;
import dev.sandbox.engine.agent.AgentMessage.Request;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The byte channel to the agent: writes request frames (one at a time, from any thread) and runs the reader
 * thread that decodes reply frames and hands them to a {@link Sink}. The first failure, on either side, closes the
 * channel for good and is reported once to the sink.
 */
final class AgentTransport {

    /** Where replies go; runs on the reader thread. */
    interface Sink {
        /** One reply; returns the reason to end the connection, or null to go on. */
        AgentException reply(int id, Reply reply);

        /** The connection is closed (called once). */
        void closed(AgentException why);
    }

    private final ByteChannel channel;
    /** Held for a whole frame, so frames never interleave and a suspend finds the stream between two. */
    private final ReentrantLock writeLock = new ReentrantLock();
    private final Sink sink;
    private volatile AgentException closedBy;
    private Thread reader;
    /** Bytes the reader took from the channel, and where the frame it reads now began. */
    private volatile long bytesRead;
    private volatile long frameStart;
    /** Set by {@link #suspend}: the reader's next failure is its being sent away, not a broken connection. */
    private volatile boolean suspending;
    /** A frame went out only in part (a write failed in the middle): the stream is no longer whole. */
    private volatile boolean brokenFrame;
    private volatile boolean readerStoppedClean;

    AgentTransport(ByteChannel channel, Sink sink) {
        this.channel = channel;
        this.sink = sink;
    }

    void start() {
        reader = Thread.ofPlatform().daemon().name("agent-reader").start(this::readLoop);
    }

    boolean isSuspended() {
        return suspending;
    }

    /** Why the connection is closed, or null while it is open. */
    AgentException closedBy() {
        return closedBy;
    }

    boolean isOpen() {
        return closedBy == null && channel.isOpen();
    }

    void send(int id, Request m) {
        ByteBuffer frame = AgentCodec.encode(id, m);
        AgentException closed = closedBy;
        if (closed != null) {
            throw new AgentException(closed.kind(), "connection closed: " + closed.getMessage(), closed);
        }
        writeLock.lock();
        try {
            closed = closedBy; // a suspend may have taken the stream while this waited for the lock
            if (closed != null) {
                throw new AgentException(closed.kind(), "connection closed: " + closed.getMessage(), closed);
            }
            int size = frame.remaining();
            try {
                while (frame.hasRemaining()) {
                    channel.write(frame);
                }
            } catch (IOException e) {
                brokenFrame |= frame.remaining() != size;
                AgentException why = closedBy;
                if (why != null) { // the reader closed the channel under us: its reason is the real one
                    throw new AgentException(why.kind(), "connection closed: " + why.getMessage(), e);
                }
                AgentException ex = new AgentException(Kind.IO, "write to agent: " + e, e);
                shutdown(ex);
                throw ex;
            }
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * Lets go of the channel without closing it: no frame goes out after the one being written (waited for up to
     * {@code timeout}), {@code wakeReader} sends the blocked reader away, and the sink hears {@code why}. Returns
     * whether the stream is whole, i.e. the reader stopped between two frames and no frame went out in part: only
     * then can another client take it up. If not, the channel is closed as by {@link #shutdown}.
     */
    boolean suspend(AgentException why, Duration timeout, Runnable wakeReader) {
        synchronized (this) {
            if (closedBy != null) {
                return false;
            }
            suspending = true;
        }
        boolean writerDone;
        try {
            writerDone = writeLock.tryLock(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            writerDone = false;
        }
        synchronized (this) {
            closedBy = why;
        }
        if (writerDone) {
            writeLock.unlock();
        }
        wakeReader.run();
        boolean readerDone = false;
        if (reader != null) {
            try {
                reader.join(timeout.toMillis() + 1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            readerDone = !reader.isAlive();
        }
        boolean whole = writerDone && readerDone && readerStoppedClean && !brokenFrame;
        if (!whole) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        sink.closed(why);
        return whole;
    }

    /** Closes the channel (first reason wins) and tells the sink. */
    void shutdown(AgentException why) {
        synchronized (this) {
            if (closedBy != null) {
                return;
            }
            closedBy = why;
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        sink.closed(why);
    }

    /** Waits a little for the reader thread to end (not from the reader itself). */
    void joinReader() {
        if (reader != null && Thread.currentThread() != reader) {
            try {
                reader.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void readLoop() {
        AgentException why;
        ByteChannel counted = new Counted();
        try {
            for (;;) {
                frameStart = bytesRead;
                AgentCodec.Frame f = AgentCodec.read(counted);
                if (f == null) {
                    why = new AgentException(Kind.CLOSED, "agent closed the connection");
                    break;
                }
                if (!(f.message() instanceof Reply reply)) {
                    why = new AgentException(Kind.PROTOCOL, "agent sent a request frame " + f.message());
                    break;
                }
                why = sink.reply(f.id(), reply);
                if (why != null) {
                    break;
                }
            }
        } catch (AgentException e) {
            why = e;
        } catch (IOException e) {
            if (suspending) { // sent away by suspend: it reports to the sink and keeps the channel open
                readerStoppedClean = bytesRead == frameStart;
                return;
            }
            why = new AgentException(closedBy != null ? closedBy.kind() : Kind.IO,
                    "read from agent: " + e.getMessage(), e);
        }
        if (suspending) {
            return; // the stream ended or broke while being let go: suspend finds the reader not clean
        }
        shutdown(why);
    }

    /** The channel, counting what the reader takes from it. */
    private final class Counted implements ByteChannel {
        @Override
        public int read(ByteBuffer dst) throws IOException {
            int n = channel.read(dst);
            if (n > 0) {
                bytesRead += n;
            }
            return n;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            return channel.write(src);
        }

        @Override
        public boolean isOpen() {
            return channel.isOpen();
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
