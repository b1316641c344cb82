package dev.sandbox.server;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

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
    /** Calls inside that want to hear of a shutting at once (streams) rather than be waited for. */
    private final Set<Pass> watching = Collections.newSetFromMap(new IdentityHashMap<>());

    Gate(int maxExecs) {
        this.maxExecs = maxExecs;
    }

    /**
     * A call inside; {@link #leave} it exactly once. {@code onShut}, if not null, is told why when a lifecycle step
     * shuts the door while the call is inside (on the shutting thread, before it waits for the calls to leave).
     */
    record Pass(long generation, boolean exec, Consumer<String> onShut) {
    }

    /** Lets a call in, or refuses it: 409 while a lifecycle step runs, 429 past the exec limit. */
    Pass enter(String id, String what, boolean exec) {
        return enter(id, what, exec, null);
    }

    /**
     * As {@link #enter(String, String, boolean)}, for a call that may last long (a stream): it is told at once when
     * a lifecycle step shuts the door, so that it can end itself instead of holding the step up for the grace.
     */
    Pass enter(String id, String what, boolean exec, Consumer<String> onShut) {
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
            Pass pass = new Pass(generation, exec, onShut);
            if (onShut != null) {
                watching.add(pass);
            }
            return pass;
        }
    }

    void leave(Pass pass) {
        synchronized (lock) {
            watching.remove(pass);
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

    /**
     * Shuts the door for {@code why}, tells the calls that watch for it (streams, which then end themselves), and
     * waits up to {@code grace} for the calls inside to finish.
     */
    void shut(String why, Duration grace) {
        shut(why, grace, true);
    }

    /**
     * As {@link #shut(String, Duration)}; {@code tellWatchers} false leaves streams alone, for a step that goes
     * ahead only if nobody is inside (the reaper).
     */
    void shut(String why, Duration grace, boolean tellWatchers) {
        long deadline = System.nanoTime() + grace.toNanos();
        List<Pass> toTell;
        synchronized (lock) {
            shutFor = why;
            generation++;
            toTell = tellWatchers ? new ArrayList<>(watching) : List.of();
        }
        for (Pass p : toTell) {  // outside the lock: a watcher may take its own locks
            p.onShut().accept(why);
        }
        synchronized (lock) {
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
