package dev.sandbox.engine;

import dev.sandbox.engine.agent.AgentException;
import dev.sandbox.engine.agent.DirListing;
import dev.sandbox.engine.agent.ExecExit;
import dev.sandbox.engine.agent.ExecListener;
import dev.sandbox.engine.agent.ExecRequest;
import dev.sandbox.engine.agent.ExecResult;
import dev.sandbox.engine.agent.ProcessInfo;
import dev.sandbox.engine.agent.ProcessOutput;
import dev.sandbox.engine.agent.ProcessSignal;

import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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

    /** Its addresses, while it has a network (running or paused); empty for a sandbox created without one. */
    default Optional<SandboxNetwork> network() {
        return Optional.empty();
    }

    State state();

    /**
     * Counters of the agent's channel in this VM life (a resume or a clone starts a new one): {@code connects}
     * (connections the host opened), {@code transport_resets}, {@code restored} (connections that came back from
     * the snapshot), {@code reattached} (taken up again), {@code bytes_to_guest}, {@code bytes_from_guest}. For
     * operators and tests: a resume that kept its connection shows no connect and no reset. Empty while paused or
     * stopped, or where the implementation has none.
     */
    default Map<String, Long> channelCounters() {
        return Map.of();
    }

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

    /**
     * One round trip to the guest agent over the connection every call uses, with no work in the guest: the floor
     * under any guest call (benchmarks set {@link #exec} against it). AgentException UNSUPPORTED in implementations
     * without an agent connection.
     */
    default Duration ping() {
        throw new AgentException(AgentException.Kind.UNSUPPORTED, "ping: not supported by " + getClass());
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
     * Lists the guest directory at {@code path} (absolute; a symlink there is followed, entries are not), at most
     * {@code maxEntries} entries, flagged truncated when there were more. AgentException NOT_FOUND, NOT_DIRECTORY;
     * UNSUPPORTED where the guest agent predates directory calls (and in implementations without them).
     */
    default DirListing listDirectory(String path, int maxEntries) {
        throw new AgentException(AgentException.Kind.UNSUPPORTED, "listDirectory: not supported by " + getClass());
    }

    /** {@code mkdir -p}; false when it already was a directory. AgentException EXISTS when something else is. */
    default boolean makeDirectory(String path, int mode) {
        throw new AgentException(AgentException.Kind.UNSUPPORTED, "makeDirectory: not supported by " + getClass());
    }

    /**
     * Removes a file, symlink or directory (with {@code recursive} the whole tree, following no symlink); returns
     * the entries removed. AgentException NOT_FOUND, NOT_EMPTY, INVALID (for "/").
     */
    default long remove(String path, boolean recursive) {
        throw new AgentException(AgentException.Kind.UNSUPPORTED, "remove: not supported by " + getClass());
    }

    // ---- background processes: they belong to the guest, so they live through pause/resume with their output ----

    /**
     * Starts {@code cmd} (PATH lookup) with {@code args} in the background and returns at once. AgentException BUSY
     * when the guest runs its most background processes already, TOO_LARGE for a command line over 8 KiB;
     * UNSUPPORTED where the guest agent predates background processes (and in implementations without them).
     */
    default ProcessInfo startProcess(String cmd, List<String> args) {
        return startProcess(cmd, args, Map.of(), null);
    }

    /**
     * {@link #startProcess(String, List)} with {@code env} added to the agent's environment and {@code cwd} (null:
     * "/"); AgentException NOT_FOUND (or INVALID) when {@code cwd} is not a directory in the guest.
     */
    default ProcessInfo startProcess(String cmd, List<String> args, Map<String, String> env, String cwd) {
        throw new AgentException(AgentException.Kind.UNSUPPORTED, "startProcess: not supported by " + getClass());
    }

    /** The background processes the guest runs and the exited ones it still remembers, in start order. */
    default List<ProcessInfo> listProcesses() {
        throw new AgentException(AgentException.Kind.UNSUPPORTED, "listProcesses: not supported by " + getClass());
    }

    /** Signals the process's group; false when it had exited already. AgentException NOT_FOUND for an unknown pid. */
    default boolean signalProcess(int pid, ProcessSignal signal) {
        throw new AgentException(AgentException.Kind.UNSUPPORTED, "signalProcess: not supported by " + getClass());
    }

    /**
     * Output of a background process from the two stream offsets, at most {@code maxBytes} (up to 64 KiB) per
     * stream, waiting up to {@code wait} (at most 30 s) while there is nothing new. AgentException NOT_FOUND for an
     * unknown (or forgotten) pid.
     */
    default ProcessOutput readProcessOutput(int pid, long stdoutOffset, long stderrOffset, int maxBytes,
                                            Duration wait) {
        throw new AgentException(AgentException.Kind.UNSUPPORTED, "readProcessOutput: not supported by "
                + getClass());
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
