package dev.sandbox.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;

/**
 * A signal blocked in one platform thread, which other threads send to kick that thread out of a blocking call
 * without any handler or upcall.
 *
 * <p>The owner thread blocks the signal for good; a call that unblocks it only while it waits (KVM_RUN via
 * KVM_SET_SIGNAL_MASK, see {@link #kernelMaskWithSignalUnblocked()}) returns EINTR when it arrives, and because the
 * thread's own mask still blocks it, it stays pending instead of running its default action (terminate). The owner
 * then takes it with {@link #drain()}. A kick that lands while the owner is not waiting also stays pending, so the
 * next wait returns at once: kicks are never lost, at worst doubled.
 *
 * <p>{@link #kick()} is safe from any thread until {@link #close()}, which the owner calls before it exits: after
 * close no kick is sent, so pthread_kill never sees a dead thread, and the pending one is drained before the signal
 * is unblocked again.
 */
public final class ThreadSignals implements AutoCloseable {
    /** SIGRTMIN+5 (39 with glibc): the JVM uses no real-time signal but SIGRTMAX-2 (NIO's close wakeup). */
    public static final int KICK_SIGNAL = Libc.sigrtmin() + 5;

    private final int signal;
    private final Thread owner;
    private final long pthread;
    private final boolean wasBlocked;
    private final Object lock = new Object();
    private boolean open = true;

    private ThreadSignals(int signal, boolean wasBlocked) {
        this.signal = signal;
        this.owner = Thread.currentThread();
        this.pthread = Libc.pthreadSelf();
        this.wasBlocked = wasBlocked;
    }

    /** Blocks {@code signal} in the calling platform thread, which becomes the owner. */
    public static ThreadSignals blockInCurrentThread(int signal) {
        if (Thread.currentThread().isVirtual()) {
            throw new IllegalStateException("signals target OS threads: call this on a platform thread");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = singleton(arena, signal);
            MemorySegment old = arena.allocate(LinuxAbi.sigset_t);
            Libc.pthreadSigmask(LinuxAbi.SIG_BLOCK, set, old);
            ThreadSignals signals = new ThreadSignals(signal, Libc.sigismember(old, signal));
            signals.drain(); // a stale kick from an earlier owner of this thread
            return signals;
        }
    }

    /** Blocks {@link #KICK_SIGNAL}. */
    public static ThreadSignals blockInCurrentThread() {
        return blockInCurrentThread(KICK_SIGNAL);
    }

    private static MemorySegment singleton(Arena arena, int signal) {
        MemorySegment set = arena.allocate(LinuxAbi.sigset_t);
        Libc.sigemptyset(set);
        Libc.sigaddset(set, signal);
        return set;
    }

    public int signal() {
        return signal;
    }

    public Thread owner() {
        return owner;
    }

    /** Sends the signal to the owner; false (and nothing sent) once closed. Any thread. */
    public boolean kick() {
        return kick(() -> {});
    }

    /** Runs {@code beforeSignal} (e.g. setting a flag the owner checks) and sends the signal, unless closed. */
    public boolean kick(Runnable beforeSignal) {
        synchronized (lock) {
            if (!open) {
                return false;
            }
            beforeSignal.run();
            Libc.pthreadKill(pthread, signal);
            return true;
        }
    }

    /**
     * Takes every pending kick without waiting; true if there was one. Owner only. Real-time signals queue: two
     * kicks before a drain are two pending signals, and one left behind would kill the process once unblocked.
     */
    public boolean drain() {
        boolean any = false;
        while (await(Duration.ZERO)) {
            any = true;
        }
        return any;
    }

    /** Waits up to {@code timeout} for a kick and takes it; true if one came. Owner only. */
    public boolean await(Duration timeout) {
        checkOwner();
        try (Arena arena = Arena.ofConfined()) {
            return Libc.sigtimedwait(singleton(arena, signal), timeout.toNanos()) != 0;
        }
    }

    /** Whether a kick is pending. Owner only. */
    public boolean isPending() {
        checkOwner();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pending = arena.allocate(LinuxAbi.sigset_t);
            Libc.sigpending(pending);
            return Libc.sigismember(pending, signal);
        }
    }

    /**
     * The owner's current mask minus the signal, in the kernel's 8-byte sigset format: what a call should use
     * while waiting (KVM_SET_SIGNAL_MASK's {@code sigset}). Owner only.
     */
    public byte[] kernelMaskWithSignalUnblocked() {
        checkOwner();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment current = arena.allocate(LinuxAbi.sigset_t);
            Libc.pthreadSigmask(LinuxAbi.SIG_BLOCK, MemorySegment.NULL, current);
            Libc.sigdelset(current, signal);
            return current.asSlice(0, LinuxAbi.KERNEL_SIGSET_BYTES).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }

    private void checkOwner() {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("only the owner thread " + owner.getName() + " may do this");
        }
    }

    /** Stops kicks, drains a pending one, and unblocks the signal unless it was blocked before. Owner only. */
    @Override
    public void close() {
        checkOwner();
        synchronized (lock) {
            if (!open) {
                return;
            }
            open = false;
        }
        drain();
        if (!wasBlocked) {
            try (Arena arena = Arena.ofConfined()) {
                Libc.pthreadSigmask(LinuxAbi.SIG_UNBLOCK, singleton(arena, signal), MemorySegment.NULL);
            }
        }
    }
}
