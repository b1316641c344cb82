package dev.sandbox.server;

import dev.sandbox.engine.agent.ExecExit;
import dev.sandbox.engine.agent.ExecListener;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One streamed exec between the engine and an HTTP response: the command's output as {@link Event}s in a bounded
 * buffer, then exactly one last event (exit or error). The agent's reader thread puts output in ({@link #listener});
 * when the buffer is full it waits, which holds back the guest's writes through the vsock credit and so the command:
 * a slow reader slows the command, and memory stays bounded. A reader that takes nothing for {@link #STALL_LIMIT}
 * while output waits ends the stream (the agent's connection is shared by every call into the sandbox, so it must
 * not wait without end). Whoever ends it first (the command's exit, a failure, a pause or destroy, the client going
 * away) decides the last event; the command is stopped if it still runs.
 */
final class ExecStream implements AutoCloseable {

    /** Output held for the reader at most (one agent chunk more may pass when the buffer is empty). */
    static final int BUFFER_BYTES = 256 * 1024;
    static final Duration STALL_LIMIT = Duration.ofSeconds(30);

    /** A line of the stream. */
    sealed interface Event permits Output, Exit, Failure {
        default boolean last() {
            return !(this instanceof Output);
        }
    }

    /** {@code type} stdout or stderr; {@code data} goes out as base64. */
    record Output(String type, byte[] data) implements Event {
    }

    record Exit(String type, int exitCode, long durationMs, boolean timedOut, boolean truncated) implements Event {
        static Exit of(ExecExit x, boolean cut) {
            int code = x.timedOut() ? ExecResponse.TIMED_OUT_EXIT_CODE : x.exitCode();
            return new Exit("exit", code, x.duration().toMillis(), x.timedOut(),
                    cut || x.stdoutTruncated() || x.stderrTruncated());
        }
    }

    /** The stream ended without the command's exit: {@code code} as in the API's error bodies. */
    record Failure(String type, String code, String message) implements Event {
        static Failure of(ApiError error, String message) {
            return new Failure("error", error.code(), message);
        }
    }

    /** Thrown to the agent's reader when the stream has ended: the engine then cancels the command. */
    static final class Ended extends RuntimeException {
        Ended(String why) {
            super(why, null, false, false);
        }
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Output> queue = new ArrayDeque<>();
    private final int cap;
    private final long[] sent = new long[2];
    private final Duration stallLimit;
    private long queuedBytes;
    private boolean cut;
    private Event last;
    private boolean lastTaken;
    private boolean engineRunning;
    private Thread runner;

    ExecStream(int outputCap) {
        this(outputCap, STALL_LIMIT);
    }

    ExecStream(int outputCap, Duration stallLimit) {
        this.cap = outputCap;
        this.stallLimit = stallLimit;
    }

    /** Runs the engine call on its own virtual thread; {@link #interrupt} and {@link #close} may stop it. */
    void start(Runnable engineCall) {
        lock.lock();
        try {
            engineRunning = true;
            runner = Thread.ofVirtual().name("exec-stream").unstarted(() -> {
                try {
                    engineCall.run();
                } finally {
                    engineDone();
                }
            });
        } finally {
            lock.unlock();
        }
        runner.start();
    }

    /** Where the engine puts the output; called on the agent's reader thread. */
    ExecListener listener() {
        return new ExecListener() {
            @Override
            public void stdout(byte[] chunk) {
                put(0, chunk);
            }

            @Override
            public void stderr(byte[] chunk) {
                put(1, chunk);
            }
        };
    }

    private void put(int stream, byte[] chunk) {
        lock.lock();
        try {
            if (last != null) {
                throw new Ended("the stream has ended");
            }
            // The agent is told the cap; what a guest sends is not trusted to obey it.
            long room = cap - sent[stream];
            int keep = (int) Math.max(0, Math.min(room, chunk.length));
            if (keep < chunk.length) {
                cut = true;
            }
            if (keep == 0) {
                return;
            }
            sent[stream] += keep;
            byte[] data = keep == chunk.length ? chunk : java.util.Arrays.copyOf(chunk, keep);
            long waitNanos = stallLimit.toNanos();
            while (last == null && !queue.isEmpty() && queuedBytes + data.length > BUFFER_BYTES) {
                if (waitNanos <= 0) {
                    end(Failure.of(ApiError.TIMEOUT, "the client read nothing for " + stallLimit.toSeconds()
                            + " s while output waited: the command was stopped"), false);
                    break;
                }
                waitNanos = changed.awaitNanos(waitNanos);
            }
            if (last != null) {
                throw new Ended("the stream has ended");
            }
            queue.add(new Output(stream == 0 ? "stdout" : "stderr", data));
            queuedBytes += data.length;
            changed.signalAll();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Ended("interrupted");
        } finally {
            lock.unlock();
        }
    }

    /** The command exited: its exit is the last event, after the output still queued. */
    void exited(ExecExit exit) {
        lock.lock();
        try {
            end(Exit.of(exit, cut), false);
        } finally {
            lock.unlock();
        }
    }

    /** The engine call failed: the last event says why. */
    void fail(ApiError error, String message) {
        lock.lock();
        try {
            end(Failure.of(error, message), false);
        } finally {
            lock.unlock();
        }
    }

    /** Ends the stream from outside (a pause or destroy): the command is stopped, the last event says why. */
    void interrupt(ApiError error, String message) {
        lock.lock();
        try {
            end(Failure.of(error, message), true);
        } finally {
            lock.unlock();
        }
    }

    /**
     * The next event for the reader, waiting for one; the output queued comes before the last event, and nothing
     * comes after it (null).
     */
    Event next() throws InterruptedException {
        lock.lock();
        try {
            while (queue.isEmpty() && last == null) {
                changed.await();
            }
            Output out = queue.poll();
            if (out != null) {
                queuedBytes -= out.data().length;
                changed.signalAll();
                return out;
            }
            if (lastTaken) {
                return null;
            }
            lastTaken = true;
            return last;
        } finally {
            lock.unlock();
        }
    }

    /** The reader is done (or gone): if the command still runs it is stopped; queued output is dropped. */
    @Override
    public void close() {
        lock.lock();
        try {
            end(Failure.of(ApiError.INVALID_STATE, "the client went away"), true);
            queue.clear();
            queuedBytes = 0;
        } finally {
            lock.unlock();
        }
    }

    /** Bytes waiting for the reader now (for tests: the bound). */
    long queuedBytes() {
        lock.lock();
        try {
            return queuedBytes;
        } finally {
            lock.unlock();
        }
    }

    /** The first end wins; {@code stop} interrupts the engine call if it still runs (the agent cancels it). */
    private void end(Event event, boolean stop) {
        if (last == null) {
            last = event;
            changed.signalAll();
        }
        if (stop && engineRunning && runner != null) {
            runner.interrupt();
        }
    }

    /** Whether the stream has its last event already (then there is no point starting the command). */
    boolean ended() {
        lock.lock();
        try {
            return last != null;
        } finally {
            lock.unlock();
        }
    }

    /** The engine call returned: from here on nothing interrupts the thread that ran it. Idempotent. */
    void engineDone() {
        lock.lock();
        try {
            engineRunning = false;
        } finally {
            lock.unlock();
        }
        Thread.interrupted();  // an interrupt meant for the engine call must not hit what follows on this thread
    }
}
