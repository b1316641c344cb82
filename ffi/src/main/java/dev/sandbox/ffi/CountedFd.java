package dev.sandbox.ffi;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A file descriptor closed only once no call is using it: 1 for the owner plus one per call in progress, closed at
 * 0. So a call racing {@link #close()} either completes on this file or fails, and never lands in a file that
 * reused the number.
 */
public final class CountedFd implements AutoCloseable {
    private final int fd;
    private final String what;
    private final AtomicInteger users = new AtomicInteger(1);
    private final AtomicBoolean closed = new AtomicBoolean();

    /** Takes ownership of {@code fd}; {@code what} names it in the error once closed. */
    public CountedFd(int fd, String what) {
        this.fd = fd;
        this.what = what;
    }

    /** The number for a call about to start; pair with {@link #release()} in a finally. */
    public int acquire() {
        while (true) {
            int n = users.get();
            if (n == 0 || closed.get()) {
                throw new IllegalStateException(what + " closed");
            }
            if (users.compareAndSet(n, n + 1)) {
                return fd;
            }
        }
    }

    public void release() {
        if (users.decrementAndGet() == 0) {
            Libc.close(fd);
        }
    }

    /** The number, for registering it elsewhere (KVM, poll); fails once closed. */
    public int fd() {
        if (closed.get()) {
            throw new IllegalStateException(what + " closed");
        }
        return fd;
    }

    public boolean isClosed() {
        return closed.get();
    }

    /** Gives up the owner's share: the fd closes now, or when the last call in progress ends. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            release();
        }
    }
}
