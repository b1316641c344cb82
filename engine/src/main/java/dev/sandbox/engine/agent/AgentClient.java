package dev.sandbox.engine.agent;

import dev.sandbox.engine.agent.AgentException.Kind;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Client of the guest agent over one blocking byte channel (vsock in a VM, a Unix socket in tests). The
 * constructor does the version handshake; then any number of threads may call it at once: requests multiplex on
 * the connection, each tagged with its id, and a reader thread routes the replies. Every call has a timeout (the
 * client's default, or its own); on timeout the agent is told to cancel the request and {@link AgentException}
 * of kind {@link Kind#TIMEOUT} is thrown. All failures are {@link AgentException}s.
 *
 * <p>Listeners and output streams given to a call run on the reader thread; a slow one holds back every other
 * request on the connection.
 *
 * <p>The work is split by job: {@link AgentTransport} owns the channel and the reader thread, {@link Calls}
 * multiplexes requests on it, {@link AgentExec}, {@link AgentFiles} and {@link AgentDirs} are the exec, file
 * and directory calls; this class
 * does the handshake and the small calls, and is the one public face.
 */
public final class AgentClient implements AutoCloseable {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    /** How much longer than an exec's own timeout the client waits for its EXIT frame. */
    static final Duration EXEC_GRACE = AgentExec.EXEC_GRACE;

    private final Duration defaultTimeout;
    private final Calls calls;
    private final AgentExec execs;
    private final AgentFiles files;
    private final AgentDirs dirs;
    private final AgentProcs procs;
    private final AgentMessage.HelloOk hello;

    /** Handshakes over {@code channel} with the default timeout. */
    public AgentClient(ByteChannel channel) {
        this(channel, DEFAULT_TIMEOUT);
    }

    /**
     * Handshakes over {@code channel}; {@code defaultTimeout} applies to calls that do not name their own. The
     * client owns the channel from here on and closes it on {@link #close()} or when the handshake fails.
     */
    public AgentClient(ByteChannel channel, Duration defaultTimeout) {
        this(channel, defaultTimeout, AgentCodec.PROTOCOL_VERSION);
    }

    /** As above, offering protocol versions up to {@code maxVersion} only (tests: how an older host talks). */
    AgentClient(ByteChannel channel, Duration defaultTimeout, int maxVersion) {
        this.defaultTimeout = defaultTimeout;
        this.calls = new Calls(channel);
        this.execs = new AgentExec(calls);
        this.files = new AgentFiles(calls);
        try {
            Call.Simple<AgentMessage.HelloOk> call = calls.startHello(AgentMessage.HelloOk.class,
                    new AgentMessage.Hello(AgentCodec.MAGIC, AgentCodec.MIN_PROTOCOL_VERSION, maxVersion));
            this.hello = calls.await(0, call, defaultTimeout, "hello");
        } catch (AgentException e) {
            close();
            throw e;
        }
        if (hello.version() < AgentCodec.MIN_PROTOCOL_VERSION || hello.version() > maxVersion) {
            close();
            throw new AgentException(Kind.VERSION, "agent chose protocol version " + hello.version());
        }
        this.dirs = new AgentDirs(calls, hello.version());
        this.procs = new AgentProcs(calls, hello.version());
    }

    /**
     * What a client that let go of its connection ({@link #suspend}) leaves for the next one over the same stream:
     * the handshake's outcome and the next request id (ids of the last client's calls are never reused, so their
     * late frames are ignored).
     */
    public record Session(int version, String agentVersion, int maxPayload, int flags, int nextId) {
        public Session {
            if (version < AgentCodec.MIN_PROTOCOL_VERSION || version > AgentCodec.PROTOCOL_VERSION) {
                throw new IllegalArgumentException("agent protocol version " + version + " is not one this host"
                        + " speaks");
            }
            if (nextId <= 0) {
                throw new IllegalArgumentException("next request id " + nextId + " is not positive");
            }
        }
    }

    /** A client over a stream whose handshake an earlier client did (see {@link #suspend}). */
    private AgentClient(ByteChannel channel, Duration defaultTimeout, Session session) {
        this.defaultTimeout = defaultTimeout;
        this.calls = new Calls(channel, session.nextId());
        this.execs = new AgentExec(calls);
        this.files = new AgentFiles(calls);
        this.hello = new AgentMessage.HelloOk(session.version(), session.agentVersion(), session.maxPayload(),
                session.flags());
        this.dirs = new AgentDirs(calls, hello.version());
        this.procs = new AgentProcs(calls, hello.version());
        calls.startReader();
    }

    /**
     * Takes up a connection an earlier client let go of, as {@code session} says, without a handshake: the stream
     * must be exactly where that client left it (a snapshot of the VM kept it). Owns the channel from here on.
     */
    public static AgentClient resume(ByteChannel channel, Duration defaultTimeout, Session session) {
        return new AgentClient(channel, defaultTimeout, session);
    }

    /**
     * Lets go of the connection without closing it, so that it can be kept (with a VM's snapshot) and taken up by
     * {@link #resume}: new calls fail, calls in flight fail with CLOSED and are cancelled in the guest, no frame
     * goes out after the one being written, and {@code wakeReader} must send the reader, blocked on the channel,
     * away with an IOException while leaving the stream as it is. Returns the session for the next client, or empty
     * when the stream could not be left whole between two frames within {@code timeout}; then the channel is
     * closed, as by {@link #close()}. Either way this client is done.
     */
    public Optional<Session> suspend(Duration timeout, Runnable wakeReader) {
        AgentException why = new AgentException(Kind.CLOSED, "the sandbox is being paused; the call did not finish"
                + " and was cancelled");
        calls.refuseAndCancel(why);
        int next = calls.nextId();
        boolean whole = calls.transport().suspend(why, timeout, wakeReader);
        return whole ? Optional.of(new Session(hello.version(), hello.agentVersion(), hello.maxPayload(),
                hello.flags(), next)) : Optional.empty();
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
        AgentMessage.Pong pong = calls.simple(new AgentMessage.Ping(token), AgentMessage.Pong.class, timeout,
                "ping");
        if (!Arrays.equals(pong.data(), token)) {
            throw new AgentException(Kind.PROTOCOL, "pong does not echo the ping");
        }
        return Duration.ofNanos(System.nanoTime() - t0);
    }

    /** Runs a command and collects its output. The call waits the request's timeout plus a grace period. */
    public ExecResult exec(ExecRequest request) {
        return execs.exec(request);
    }

    /** {@code exec(ExecRequest.of(cmd, args))}. */
    public ExecResult exec(String cmd, String... args) {
        return exec(ExecRequest.of(cmd, args));
    }

    /** Runs a command, streaming its output to {@code listener}; returns when it exited. */
    public ExecExit exec(ExecRequest request, ExecListener listener) {
        return execs.exec(request, listener);
    }

    /**
     * Starts a command and returns at once; the future completes with its exit (or an {@link AgentException}).
     * Cancelling the future kills the command's process group.
     */
    public CompletableFuture<ExecExit> execAsync(ExecRequest request, ExecListener listener) {
        return execs.execAsync(request, listener);
    }

    /** Writes a file atomically (temp file + rename, parents created) from {@code content}; returns its size. */
    public long writeFile(String path, InputStream content, int mode) {
        return writeFile(path, content, mode, defaultTimeout);
    }

    public long writeFile(String path, byte[] content, int mode) {
        return writeFile(path, new java.io.ByteArrayInputStream(content), mode, defaultTimeout);
    }

    public long writeFile(String path, InputStream content, int mode, Duration timeout) {
        return files.writeFile(path, content, mode, timeout);
    }

    /** Streams a file into {@code out}; returns its size. Fails with NOT_FOUND, IS_DIRECTORY, PERMISSION_DENIED... */
    public long readFile(String path, OutputStream out) {
        return readFile(path, out, Long.MAX_VALUE, defaultTimeout);
    }

    /** As {@link #readFile(String, OutputStream)}; a file over {@code maxBytes} fails with TOO_LARGE. */
    public long readFile(String path, OutputStream out, long maxBytes, Duration timeout) {
        return files.readFile(path, out, maxBytes, timeout);
    }

    public byte[] readFile(String path) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        readFile(path, out);
        return out.toByteArray();
    }

    /** The most entries {@link #list(String)} returns. */
    public static final int DEFAULT_MAX_ENTRIES = AgentCodec.MAX_LIST;

    /**
     * Lists a guest directory (a symlink at {@code path} is followed; entries are not), at most
     * {@code maxEntries} (capped at {@value AgentCodec#MAX_LIST}) entries. Fails with NOT_FOUND, NOT_DIRECTORY,
     * PERMISSION_DENIED, or UNSUPPORTED when the agent predates directory calls.
     */
    public DirListing list(String path, int maxEntries) {
        return dirs.list(path, maxEntries, defaultTimeout);
    }

    public DirListing list(String path) {
        return list(path, DEFAULT_MAX_ENTRIES);
    }

    /** {@code mkdir -p}; returns false when the directory was already there. EXISTS when a non-directory is. */
    public boolean mkdir(String path, int mode) {
        return dirs.mkdir(path, mode, defaultTimeout);
    }

    /**
     * Removes a file, symlink or directory; with {@code recursive} everything below it, following no symlink and
     * crossing no mount point. Returns the number of entries removed. NOT_FOUND, NOT_EMPTY, INVALID for "/".
     */
    public long remove(String path, boolean recursive) {
        return remove(path, recursive, defaultTimeout);
    }

    public long remove(String path, boolean recursive, Duration timeout) {
        return dirs.remove(path, recursive, timeout);
    }

    /** The outcome of a clock sync: whether the guest clock was set, and what it said before. */
    // ---- background processes (protocol version 3) ----

    /** Starts a background process; answers once it runs (a command not found starts and exits 127). */
    public ProcessInfo startProcess(String cmd, List<String> args, List<String> env, String cwd) {
        return procs.start(cmd, args, env, cwd, defaultTimeout);
    }

    public List<ProcessInfo> listProcesses() {
        return procs.list(defaultTimeout);
    }

    /** False when the process had already exited. AgentException NOT_FOUND for an unknown pid. */
    public boolean signalProcess(int pid, ProcessSignal signal) {
        return procs.signal(pid, signal, defaultTimeout);
    }

    /** Output from the offsets, waiting up to {@code wait} (at most 30 s) while there is nothing new. */
    public ProcessOutput readProcessOutput(int pid, long stdoutOffset, long stderrOffset, int maxBytes,
                                           Duration wait) {
        return procs.read(pid, stdoutOffset, stderrOffset, maxBytes, wait, defaultTimeout);
    }

    public record ClockSync(boolean applied, Instant previous) {}

    /** Sends the host's time; the agent sets CLOCK_REALTIME when it may (PID 1 or --privileged). */
    public ClockSync syncClock() {
        return syncClock(Instant.now());
    }

    public ClockSync syncClock(Instant now) {
        AgentMessage.ClockOk ok = calls.simple(new AgentMessage.Clock(now.getEpochSecond(), now.getNano()),
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
        return calls.simple(new AgentMessage.Entropy(seed), AgentMessage.EntropyOk.class, defaultTimeout, "entropy")
                .credited();
    }

    /** As ENTROPY's bound (one payload), less room for the other fields of IDENTITY. */
    static final int MAX_IDENTITY_SEED = AgentCodec.MAX_PAYLOAD - 1024;

    /**
     * What {@link #identity} changed: the hostname and the clock are set only by an agent that may (PID 1, or
     * {@code --privileged}); {@code entropyBytes} were added to the pool, credited as entropy or only mixed in.
     */
    public record IdentitySet(boolean hostnameSet, boolean clockSet, int entropyBytes, boolean entropyCredited) {}

    /**
     * A clone's identity in one round trip, served by the agent without a fork (protocol version 4): sets the
     * hostname ({@code ""} leaves it as it is), sets the clock to {@code now} and adds {@code seed} to the guest's
     * random pool. A hostname the agent does not take (more than {@value AgentCodec#MAX_HOSTNAME} bytes, other than
     * {@code [A-Za-z0-9.-]}, not starting with a letter or digit) fails with INVALID and changes nothing; an agent
     * older than version 4 fails with UNSUPPORTED before anything is sent (then use {@code hostname},
     * {@link #syncClock} and {@link #addEntropy}).
     */
    public IdentitySet identity(String hostname, Instant now, byte[] seed) {
        if (hello.version() < AgentCodec.IDENTITY_VERSION) {
            throw new AgentException(Kind.UNSUPPORTED, "identity: the guest agent speaks protocol version "
                    + hello.version() + "; identity needs version " + AgentCodec.IDENTITY_VERSION);
        }
        if (seed.length > MAX_IDENTITY_SEED) {
            throw new IllegalArgumentException("at most " + MAX_IDENTITY_SEED + " bytes of entropy per call");
        }
        AgentMessage.IdentityOk ok = calls.simple(new AgentMessage.Identity(hostname, now.getEpochSecond(),
                now.getNano(), seed), AgentMessage.IdentityOk.class, defaultTimeout, "identity");
        if (ok.entropyBytes() != seed.length) {
            throw new AgentException(Kind.PROTOCOL, "identity: the agent added " + ok.entropyBytes()
                    + " entropy bytes of " + seed.length);
        }
        return new IdentitySet((ok.flags() & AgentMessage.IdentityOk.HOSTNAME_SET) != 0,
                (ok.flags() & AgentMessage.IdentityOk.CLOCK_SET) != 0, ok.entropyBytes(), ok.credited());
    }

    /** Flushes the guest's file systems (sync) before a snapshot. */
    public void quiesce() {
        quiesce(defaultTimeout);
    }

    public void quiesce(Duration timeout) {
        calls.simple(new AgentMessage.Quiesce(), AgentMessage.QuiesceOk.class, timeout, "quiesce");
    }

    public boolean isOpen() {
        return calls.transport().isOpen();
    }

    /** Whether {@link #suspend} let go of the connection (it is not broken: another client has it, or will). */
    public boolean isSuspended() {
        return calls.transport().isSuspended();
    }

    /** Closes the channel; calls in flight fail with CLOSED (the agent kills their commands). */
    @Override
    public void close() {
        calls.transport().shutdown(new AgentException(Kind.CLOSED, "client closed"));
        calls.transport().joinReader();
    }
}
