package dev.sandbox.engine.agent;

import dev.sandbox.engine.agent.AgentException.Kind;
import dev.sandbox.engine.agent.AgentMessage.Final;
import dev.sandbox.engine.agent.AgentMessage.Reply;
import dev.sandbox.engine.agent.AgentMessage.Request;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Client of the guest agent over one blocking byte channel (vsock in a VM, a Unix socket in tests). The
 * constructor does the version handshake; then any number of threads may call it at once: requests multiplex on
 * the connection, each tagged with its id, and a reader thread routes the replies. Every call has a timeout (the
 * client's default, or its own); on timeout the agent is told to cancel the request and {@link AgentException}
 * of kind {@link Kind#TIMEOUT} is thrown. All failures are {@link AgentException}s.
 *
 * <p>Listeners and output streams given to a call run on the reader thread; a slow one holds back every other
 * request on the connection.
 */
public final class AgentClient implements AutoCloseable {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    /** How much longer than an exec's own timeout the client waits for its EXIT frame. */
    static final Duration EXEC_GRACE = Duration.ofSeconds(10);

    private final ByteChannel channel;
    private final Duration defaultTimeout;
    private final Object writeLock = new Object();
    private final Map<Integer, Call<?>> calls = new ConcurrentHashMap<>();
    private final AtomicInteger nextId = new AtomicInteger(1);
    private final Thread reader;
    private final AgentMessage.HelloOk hello;
    private volatile AgentException closedBy;

    /** Handshakes over {@code channel} with the default timeout. */
    public AgentClient(ByteChannel channel) {
        this(channel, DEFAULT_TIMEOUT);
    }

    /**
     * Handshakes over {@code channel}; {@code defaultTimeout} applies to calls that do not name their own. The
     * client owns the channel from here on and closes it on {@link #close()} or when the handshake fails.
     */
    public AgentClient(ByteChannel channel, Duration defaultTimeout) {
        this.channel = channel;
        this.defaultTimeout = defaultTimeout;
        SimpleCall<AgentMessage.HelloOk> call = new SimpleCall<>(AgentMessage.HelloOk.class);
        calls.put(0, call);
        this.reader = Thread.ofPlatform().daemon().name("agent-reader").start(this::readLoop);
        try {
            send(0, AgentMessage.Hello.current());
            this.hello = await(0, call, defaultTimeout, "hello");
        } catch (AgentException e) {
            close();
            throw e;
        }
        if (hello.version() != AgentCodec.PROTOCOL_VERSION) {
            close();
            throw new AgentException(Kind.VERSION, "agent chose protocol version " + hello.version());
        }
    }

    /** Connects to an agent listening on a Unix socket ({@code sandbox-agent --unix PATH}). */
    public static AgentClient connectUnix(Path socket, Duration defaultTimeout) {
        SocketChannel ch;
        try {
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                ch.connect(UnixDomainSocketAddress.of(socket));
            } catch (IOException e) {
                ch.close();
                throw e;
            }
        } catch (IOException e) {
            throw new AgentException(Kind.IO, "connect to " + socket + ": " + e.getMessage(), e);
        }
        return new AgentClient(ch, defaultTimeout);
    }

    /** The agent's version string, e.g. {@code "sandbox-agent 0.1.0"}. */
    public String agentVersion() {
        return hello.agentVersion();
    }

    public int protocolVersion() {
        return hello.version();
    }

    /** Whether the agent runs as PID 1 (inside a microVM) rather than as a host test process. */
    public boolean agentIsPid1() {
        return (hello.flags() & AgentMessage.HelloOk.FLAG_PID1) != 0;
    }

    // ---- calls ----

    /** Round trip of a small frame; returns how long it took. */
    public Duration ping() {
        return ping(defaultTimeout);
    }

    public Duration ping(Duration timeout) {
        long t0 = System.nanoTime();
        byte[] token = Long.toString(t0).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        AgentMessage.Pong pong = simple(new AgentMessage.Ping(token), AgentMessage.Pong.class, timeout, "ping");
        if (!Arrays.equals(pong.data(), token)) {
            throw new AgentException(Kind.PROTOCOL, "pong does not echo the ping");
        }
        return Duration.ofNanos(System.nanoTime() - t0);
    }

    /** Runs a command and collects its output. The call waits the request's timeout plus a grace period. */
    public ExecResult exec(ExecRequest request) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ExecExit exit = exec(request, new ExecListener() {
            @Override
            public void stdout(byte[] chunk) {
                out.writeBytes(chunk);
            }

            @Override
            public void stderr(byte[] chunk) {
                err.writeBytes(chunk);
            }
        });
        return ExecResult.of(out.toByteArray(), err.toByteArray(), exit);
    }

    /** {@code exec(ExecRequest.of(cmd, args))}. */
    public ExecResult exec(String cmd, String... args) {
        return exec(ExecRequest.of(cmd, args));
    }

    /** Runs a command, streaming its output to {@code listener}; returns when it exited. */
    public ExecExit exec(ExecRequest request, ExecListener listener) {
        ExecCall call = new ExecCall(listener);
        int id = start(call, request.toMessage());
        return await(id, call, request.timeout().plus(EXEC_GRACE), "exec " + request.cmd());
    }

    /**
     * Starts a command and returns at once; the future completes with its exit (or an {@link AgentException}).
     * Cancelling the future kills the command's process group.
     */
    public CompletableFuture<ExecExit> execAsync(ExecRequest request, ExecListener listener) {
        ExecCall call = new ExecCall(listener);
        int id = start(call, request.toMessage());
        CompletableFuture<ExecExit> result = new CompletableFuture<>();
        call.future.whenComplete((x, e) -> {
            if (e == null) {
                result.complete(x);
            } else {
                result.completeExceptionally(e);
            }
        });
        Duration limit = request.timeout().plus(EXEC_GRACE);
        CompletableFuture.delayedExecutor(limit.toMillis(), TimeUnit.MILLISECONDS).execute(() -> result
                .completeExceptionally(new AgentException(Kind.TIMEOUT, "exec " + request.cmd()
                        + " did not finish in " + limit)));
        result.whenComplete((x, e) -> {
            if (e != null && !call.future.isDone()) { // cancelled or timed out here: stop it in the guest
                abandon(id);
            }
        });
        return result;
    }

    /** Writes a file atomically (temp file + rename, parents created) from {@code content}; returns its size. */
    public long writeFile(String path, InputStream content, int mode) {
        return writeFile(path, content, mode, defaultTimeout);
    }

    public long writeFile(String path, byte[] content, int mode) {
        return writeFile(path, new java.io.ByteArrayInputStream(content), mode, defaultTimeout);
    }

    public long writeFile(String path, InputStream content, int mode, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        SimpleCall<AgentMessage.WriteOk> call = new SimpleCall<>(AgentMessage.WriteOk.class);
        int id = start(call, new AgentMessage.WriteOpen(path, mode));
        byte[] buf = new byte[AgentCodec.CHUNK];
        try {
            for (;;) {
                int n = content.readNBytes(buf, 0, buf.length);
                if (n == 0) {
                    break;
                }
                if (call.future.isDone()) { // the agent refused early: stop sending
                    break;
                }
                if (System.nanoTime() - deadline > 0) {
                    abandon(id);
                    throw new AgentException(Kind.TIMEOUT, "write " + path + " did not finish in " + timeout);
                }
                send(id, new AgentMessage.WriteData(Arrays.copyOf(buf, n)));
            }
        } catch (IOException e) {
            abandon(id);
            throw new AgentException(Kind.IO, "reading the content for " + path + ": " + e.getMessage(), e);
        }
        if (!call.future.isDone()) {
            send(id, new AgentMessage.WriteEnd());
        }
        return await(id, call, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())), "write " + path)
                .size();
    }

    /** Streams a file into {@code out}; returns its size. Fails with NOT_FOUND, IS_DIRECTORY, PERMISSION_DENIED... */
    public long readFile(String path, OutputStream out) {
        return readFile(path, out, Long.MAX_VALUE, defaultTimeout);
    }

    /** As {@link #readFile(String, OutputStream)}; a file over {@code maxBytes} fails with TOO_LARGE. */
    public long readFile(String path, OutputStream out, long maxBytes, Duration timeout) {
        ReadCall call = new ReadCall(out);
        int id = start(call, new AgentMessage.Read(path, maxBytes));
        return await(id, call, timeout, "read " + path);
    }

    public byte[] readFile(String path) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        readFile(path, out);
        return out.toByteArray();
    }

    /** The outcome of a clock sync: whether the guest clock was set, and what it said before. */
    public record ClockSync(boolean applied, Instant previous) {}

    /** Sends the host's time; the agent sets CLOCK_REALTIME when it may (PID 1 or --privileged). */
    public ClockSync syncClock() {
        return syncClock(Instant.now());
    }

    public ClockSync syncClock(Instant now) {
        AgentMessage.ClockOk ok = simple(new AgentMessage.Clock(now.getEpochSecond(), now.getNano()),
                AgentMessage.ClockOk.class, defaultTimeout, "clock");
        return new ClockSync(ok.applied(), Instant.ofEpochSecond(ok.previousSeconds(), ok.previousNanos()));
    }

    /**
     * Mixes {@code seed} into the guest's random pool; returns whether the bytes were credited as entropy
     * (RNDADDENTROPY, PID 1 only) rather than just mixed in.
     */
    public boolean addEntropy(byte[] seed) {
        if (seed.length > AgentCodec.MAX_PAYLOAD) {
            throw new IllegalArgumentException("at most " + AgentCodec.MAX_PAYLOAD + " bytes of entropy per call");
        }
        return simple(new AgentMessage.Entropy(seed), AgentMessage.EntropyOk.class, defaultTimeout, "entropy")
                .credited();
    }

    /** Flushes the guest's file systems (sync) before a snapshot. */
    public void quiesce() {
        quiesce(defaultTimeout);
    }

    public void quiesce(Duration timeout) {
        simple(new AgentMessage.Quiesce(), AgentMessage.QuiesceOk.class, timeout, "quiesce");
    }

    public boolean isOpen() {
        return closedBy == null && channel.isOpen();
    }

    /** Closes the channel; calls in flight fail with CLOSED (the agent kills their commands). */
    @Override
    public void close() {
        shutdown(new AgentException(Kind.CLOSED, "client closed"));
        if (reader != null && Thread.currentThread() != reader) {
            try {
                reader.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ---- machinery ----

    private <T extends Final> T simple(Request m, Class<T> type, Duration timeout, String what) {
        SimpleCall<T> call = new SimpleCall<>(type);
        int id = start(call, m);
        return await(id, call, timeout, what);
    }

    private int start(Call<?> call, Request m) {
        int id;
        do {
            id = nextId.getAndIncrement();
        } while (id == 0 || calls.putIfAbsent(id, call) != null);
        try {
            send(id, m);
        } catch (AgentException e) {
            calls.remove(id);
            throw e;
        }
        return id;
    }

    private void send(int id, Request m) {
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

    /** Forgets a call and asks the agent to cancel it (best effort). */
    private void abandon(int id) {
        if (calls.remove(id) != null && closedBy == null) {
            try {
                send(id, new AgentMessage.Cancel());
            } catch (AgentException ignored) {
                // the connection is gone: nothing left to cancel
            }
        }
    }

    private <T> T await(int id, Call<T> call, Duration timeout, String what) {
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

    private void shutdown(AgentException why) {
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
        for (Integer id : calls.keySet()) {
            Call<?> c = calls.remove(id);
            if (c != null) {
                c.future.completeExceptionally(why);
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
                if (f.id() == 0 && reply instanceof AgentMessage.Failure fail && !calls.containsKey(0)) {
                    why = new AgentException(Kind.PROTOCOL, "agent closed the connection: " + fail.message());
                    break;
                }
                Call<?> call = calls.get(f.id());
                if (call == null) {
                    continue; // late frames of an abandoned call
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
                        abandon(f.id());
                    } else {
                        calls.remove(f.id(), call);
                    }
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

    /** One request in flight: consumes its reply frames, completes its future on the final one. */
    private abstract static class Call<T> {
        final CompletableFuture<T> future = new CompletableFuture<>();

        void onReply(Reply r) throws IOException {
            if (r instanceof AgentMessage.Failure f) {
                future.completeExceptionally(f.toException());
            } else if (!handle(r)) {
                future.completeExceptionally(new AgentException(Kind.PROTOCOL, "unexpected reply " + r));
            }
        }

        /** Returns false for a frame this call cannot get. */
        abstract boolean handle(Reply r) throws IOException;
    }

    private static final class SimpleCall<T extends Final> extends Call<T> {
        private final Class<T> type;

        SimpleCall(Class<T> type) {
            this.type = type;
        }

        @Override
        boolean handle(Reply r) {
            if (!type.isInstance(r)) {
                return false;
            }
            future.complete(type.cast(r));
            return true;
        }
    }

    private static final class ExecCall extends Call<ExecExit> {
        private final ExecListener listener;

        ExecCall(ExecListener listener) {
            this.listener = listener;
        }

        @Override
        boolean handle(Reply r) {
            switch (r) {
                case AgentMessage.Stdout s -> listener.stdout(s.data());
                case AgentMessage.Stderr s -> listener.stderr(s.data());
                case AgentMessage.Exit x -> future.complete(ExecExit.of(x));
                default -> {
                    return false;
                }
            }
            return true;
        }
    }

    private static final class ReadCall extends Call<Long> {
        private final OutputStream out;
        private long received;

        ReadCall(OutputStream out) {
            this.out = out;
        }

        @Override
        boolean handle(Reply r) throws IOException {
            switch (r) {
                case AgentMessage.FileData d -> {
                    out.write(d.data());
                    received += d.data().length;
                }
                case AgentMessage.FileEnd e -> {
                    if (e.size() != received) {
                        future.completeExceptionally(new AgentException(Kind.PROTOCOL,
                                "file end says " + e.size() + " bytes, " + received + " arrived"));
                    } else {
                        future.complete(received);
                    }
                }
                default -> {
                    return false;
                }
            }
            return true;
        }
    }
}
