package dev.sandbox.engine.agent;

import dev.sandbox.engine.agent.AgentException.Kind;
import dev.sandbox.engine.agent.AgentMessage.Reply;
import dev.sandbox.engine.agent.AgentMessage.Request;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;

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
    private final Object writeLock = new Object();
    private final Sink sink;
    private volatile AgentException closedBy;
    private Thread reader;

    AgentTransport(ByteChannel channel, Sink sink) {
        this.channel = channel;
        this.sink = sink;
    }

    void start() {
        reader = Thread.ofPlatform().daemon().name("agent-reader").start(this::readLoop);
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
        synchronized (writeLock) {
            try {
                while (frame.hasRemaining()) {
                    channel.write(frame);
                }
            } catch (IOException e) {
                AgentException why = closedBy;
                if (why != null) { // the reader closed the channel under us: its reason is the real one
                    throw new AgentException(why.kind(), "connection closed: " + why.getMessage(), e);
                }
                AgentException ex = new AgentException(Kind.IO, "write to agent: " + e, e);
                shutdown(ex);
                throw ex;
            }
        }
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
        try {
            for (;;) {
                AgentCodec.Frame f = AgentCodec.read(channel);
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
            why = new AgentException(closedBy != null ? closedBy.kind() : Kind.IO,
                    "read from agent: " + e.getMessage(), e);
        }
        shutdown(why);
    }
}
