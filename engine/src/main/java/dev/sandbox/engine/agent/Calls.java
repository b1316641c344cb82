package dev.sandbox.engine.agent;

import dev.sandbox.engine.agent.AgentException.Kind;
import dev.sandbox.engine.agent.AgentMessage.Final;
import dev.sandbox.engine.agent.AgentMessage.Reply;
import dev.sandbox.engine.agent.AgentMessage.Request;
import java.io.IOException;
import java.nio.channels.ByteChannel;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Request multiplexing on one {@link AgentTransport}: gives each call an id, routes reply frames to their call,
 * waits with a deadline, and cancels in the guest what the host stopped waiting for.
 */
final class Calls implements AgentTransport.Sink {

    private final Map<Integer, Call<?>> calls = new ConcurrentHashMap<>();
    private final AtomicInteger nextId = new AtomicInteger(1);
    private final AgentTransport transport;
    /** Set when the client lets go of the connection: new calls fail with it. */
    private volatile AgentException refusing;

    Calls(ByteChannel channel) {
        this(channel, 1);
    }

    /** Request ids start at {@code firstId}: a client taking up a kept connection goes on after the last one's. */
    Calls(ByteChannel channel, int firstId) {
        this.transport = new AgentTransport(channel, this);
        this.nextId.set(firstId);
    }

    /** The id the next call would get. */
    int nextId() {
        return nextId.get();
    }

    /** Starts the reader for a connection whose handshake an earlier client did. */
    void startReader() {
        transport.start();
    }

    /**
     * Refuses new calls with {@code why}, then fails those in flight with it and asks the agent to cancel them:
     * their late frames, if any, are ignored by whoever reads the stream next (their ids are never reused).
     */
    void refuseAndCancel(AgentException why) {
        refusing = why;
        for (Integer id : calls.keySet()) {
            Call<?> c = calls.get(id);
            if (c != null && id != 0) {
                c.future.completeExceptionally(why);
                abandon(id);
            }
        }
    }

    AgentTransport transport() {
        return transport;
    }

    /** Registers the handshake (id 0), starts the reader and sends HELLO. */
    <T extends Final> Call.Simple<T> startHello(Class<T> type, AgentMessage.Hello hello) {
        Call.Simple<T> call = new Call.Simple<>(type);
        calls.put(0, call);
        transport.start();
        transport.send(0, hello);
        return call;
    }

    <T extends Final> T simple(Request m, Class<T> type, Duration timeout, String what) {
        Call.Simple<T> call = new Call.Simple<>(type);
        int id = start(call, m);
        return await(id, call, timeout, what);
    }

    /** Sends the first frame of a call under a fresh id; returns the id. */
    int start(Call<?> call, Request m) {
        int id;
        do {
            id = nextId.getAndIncrement();
        } while (id == 0 || calls.putIfAbsent(id, call) != null);
        AgentException refused = refusing; // read after registering: refuseAndCancel sees the call or we see this
        if (refused != null) {
            calls.remove(id);
            throw new AgentException(refused.kind(), refused.getMessage(), refused);
        }
        try {
            transport.send(id, m);
        } catch (AgentException e) {
            calls.remove(id);
            throw e;
        }
        return id;
    }

    /** A further frame of call {@code id} (upload data). */
    void send(int id, Request m) {
        transport.send(id, m);
    }

    /** Forgets a call and asks the agent to cancel it (best effort). */
    void abandon(int id) {
        if (calls.remove(id) != null && transport.closedBy() == null) {
            try {
                transport.send(id, new AgentMessage.Cancel());
            } catch (AgentException ignored) {
                // the connection is gone: nothing left to cancel
            }
        }
    }

    <T> T await(int id, Call<T> call, Duration timeout, String what) {
        try {
            return call.future.get(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            abandon(id);
            throw new AgentException(Kind.TIMEOUT, what + " did not finish in " + timeout);
        } catch (InterruptedException e) {
            abandon(id);
            Thread.currentThread().interrupt();
            throw new AgentException(Kind.INTERRUPTED, what + " interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof AgentException a) {
                throw new AgentException(a.kind(), a.errno(), what + ": " + stripKind(a), a);
            }
            throw new AgentException(Kind.IO, what + ": " + e.getCause(), e.getCause());
        }
    }

    private static String stripKind(AgentException a) {
        String m = a.getMessage();
        String prefix = a.kind() + ": ";
        return m.startsWith(prefix) ? m.substring(prefix.length()) : m;
    }

    @Override
    public AgentException reply(int id, Reply reply) {
        if (id == 0 && reply instanceof AgentMessage.Failure fail && !calls.containsKey(0)) {
            return new AgentException(Kind.PROTOCOL, "agent closed the connection: " + fail.message());
        }
        Call<?> call = calls.get(id);
        if (call == null) {
            return null; // late frames of an abandoned call
        }
        try {
            call.onReply(reply);
        } catch (RuntimeException | IOException e) {
            // the consumer failed (e.g. the OutputStream): fail this call only and cancel it in the guest
            call.future.completeExceptionally(e instanceof AgentException a ? a
                    : new AgentException(Kind.IO, "consumer failed: " + e, e));
        }
        if (call.future.isDone()) {
            if (!(reply instanceof Final)) {
                abandon(id);
            } else {
                calls.remove(id, call);
            }
        }
        return null;
    }

    @Override
    public void closed(AgentException why) {
        for (Integer id : calls.keySet()) {
            Call<?> c = calls.remove(id);
            if (c != null) {
                c.future.completeExceptionally(why);
            }
        }
    }
}
