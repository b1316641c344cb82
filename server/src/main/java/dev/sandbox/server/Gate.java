package dev.sandbox.server;

import java.time.Duration;

/**
 * The door into one sandbox for work (exec, file transfers). Work passes it without any lock, many calls at once;
 * a lifecycle step (pause, resume, destroy) shuts it, waits a bounded time for the calls inside to finish, and
 * opens it again when done. A call refused at the door, or one that failed while the door was shut or after it had
 * been shut since the call came in, is a conflict with that step (409), not a failure of the guest (502).
 */
final class Gate {

    private final Object lock = new Object();
    private final int maxExecs;
    private int inside;
    private int execs;
    /** What the sandbox is going through while the door is shut ("pausing", ...); null when open. */
    private String shutFor;
    /** Counts shuttings: a call that saw another value at entry lived through a lifecycle step. */
    private long generation;

    Gate(int maxExecs) {
        this.maxExecs = maxExecs;
    }

    /** A call inside; {@link #leave} it exactly once. */
    record Pass(long generation, boolean exec) {
    }

    /** Lets a call in, or refuses it: 409 while a lifecycle step runs, 429 past the exec limit. */
    Pass enter(String id, String what, boolean exec) {
        synchronized (lock) {
            if (shutFor != null) {
                throw ApiError.INVALID_STATE.exception("sandbox " + id + " is " + shutFor + ": " + what
                        + " refused, try again when it is done");
            }
            if (exec && execs >= maxExecs) {
                throw ApiError.TOO_MANY_REQUESTS.exception("sandbox " + id + " already runs " + maxExecs
                        + " execs, the most it runs at once");
            }
            inside++;
            if (exec) {
                execs++;
            }
            return new Pass(generation, exec);
        }
    }

    void leave(Pass pass) {
        synchronized (lock) {
            inside--;
            if (pass.exec()) {
                execs--;
            }
            lock.notifyAll();
        }
    }

    /** What a lifecycle step did to the call holding {@code pass}: null if nothing, else what it is doing/did. */
    String interruptedBy(Pass pass) {
        synchronized (lock) {
            if (shutFor != null) {
                return shutFor;
            }
            return pass.generation() != generation ? "paused, resumed or destroyed meanwhile" : null;
        }
    }

    /** Shuts the door for {@code why} and waits up to {@code grace} for the calls inside to finish. */
    void shut(String why, Duration grace) {
        long deadline = System.nanoTime() + grace.toNanos();
        synchronized (lock) {
            shutFor = why;
            generation++;
            try {
                long left;
                while (inside > 0 && (left = deadline - System.nanoTime()) > 0) {
                    lock.wait(Math.max(1, left / 1_000_000));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    void open() {
        synchronized (lock) {
            shutFor = null;
        }
    }

    /** Calls inside now: the reaper leaves a busy sandbox alone. */
    int inside() {
        synchronized (lock) {
            return inside;
        }
    }
}
