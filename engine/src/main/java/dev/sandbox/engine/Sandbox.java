package dev.sandbox.engine;

import dev.sandbox.engine.agent.ExecExit;
import dev.sandbox.engine.agent.ExecListener;
import dev.sandbox.engine.agent.ExecRequest;
import dev.sandbox.engine.agent.ExecResult;

import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One running microVM. Thread-safe: many execs and file transfers may run at once. {@link #close()} destroys it
 * and releases every resource (threads, fds, mappings, files).
 * <p>
 * Agent-level failures (file not found, too large, exec timeouts of the agent call itself) surface as
 * {@link dev.sandbox.engine.agent.AgentException}; VM-level ones as {@link EngineException}.
 */
public interface Sandbox extends AutoCloseable {

    enum State { RUNNING, PAUSED, STOPPED, FAILED }

    String id();

    /**
     * Why the sandbox is {@link State#FAILED}: the guest crashed (triple fault, kernel panic), the VM or a device
     * failed, its agent connection died, or a pause broke it. Empty in every other state.
     */
    default Optional<String> failure() {
        return Optional.empty();
    }

    SandboxSpec spec();

    State state();

    ExecResult exec(ExecRequest request);

    /**
     * Runs a command, handing its output to {@code listener} as it comes; returns when it exited. The listener runs
     * on the agent connection's reader thread: while it blocks, the guest's writes (and so the command) wait for
     * it, and so does every other call on that sandbox's connection. Interrupting the calling thread cancels the
     * command (its process group is killed). This default collects the output first, for implementations that
     * cannot stream.
     */
    default ExecExit exec(ExecRequest request, ExecListener listener) {
        ExecResult r = exec(request);
        if (r.stdout().length > 0) {
            listener.stdout(r.stdout());
        }
        if (r.stderr().length > 0) {
            listener.stderr(r.stderr());
        }
        return new ExecExit(r.exitCode(), r.signal(), r.timedOut(), r.stdoutTruncated(), r.stderrTruncated(),
                r.duration());
    }

    /** Streams {@code content} to {@code path} (absolute) in the guest; the file appears whole or not at all. */
    void writeFile(String path, InputStream content, int mode);

    /** Streams the guest file to {@code out}; returns the byte count. */
    long readFile(String path, OutputStream out, long maxBytes);

    /**
     * As {@link #writeFile(String, InputStream, int)}, failing with a TIMEOUT after {@code timeout} instead of the
     * default: a large file needs longer than a small one. Implementations without deadlines ignore it.
     */
    default void writeFile(String path, InputStream content, int mode, Duration timeout) {
        writeFile(path, content, mode);
    }

    /** As {@link #readFile(String, OutputStream, long)}, with a deadline of {@code timeout}. */
    default long readFile(String path, OutputStream out, long maxBytes, Duration timeout) {
        return readFile(path, out, maxBytes);
    }

    /**
     * Snapshots the VM to the engine's data dir and frees it (threads, fds, RAM). Calls in flight fail; calls after
     * it fail with INVALID_STATE until {@link #resume()}.
     */
    void pause();

    /**
     * Bytes the last successful {@link #pause()} wrote (VM state plus guest memory data; a restored VM writes only
     * the pages it changed), or empty when it has not paused or the implementation does not tell.
     */
    default OptionalLong lastSnapshotBytes() {
        return OptionalLong.empty();
    }

    /** Restores the VM from its snapshot; files and processes are as they were, the guest clock is current. */
    void resume();

    /** The last lines the guest wrote on its serial console, for diagnostics. */
    String consoleTail();

    /**
     * What to look at when calls into this sandbox hang: the console tail and, where the implementation can tell,
     * the state of its devices (virtqueue indices, vsock connections and their credit).
     */
    default String diagnostics() {
        return "console tail:\n" + consoleTail();
    }

    @Override
    void close();
}
