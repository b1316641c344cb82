package dev.sandbox.ffi;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Owner of an eventfd(2): a 64-bit counter the VMM and KVM (irqfd, ioeventfd) signal each other through. */
public final class EventFd implements Pollable, AutoCloseable {
    private final CountedFd fd;

    private EventFd(int fd) {
        this.fd = new CountedFd(fd, "eventfd");
    }

    /** A close-on-exec eventfd starting at 0; {@code nonBlocking} makes {@link #read()} return 0 when empty. */
    public static EventFd create(boolean nonBlocking) {
        int flags = LinuxAbi.EFD_CLOEXEC | (nonBlocking ? LinuxAbi.EFD_NONBLOCK : 0);
        return new EventFd(Libc.eventfd(0, flags));
    }

    /** Adds {@code value} (at least 1) to the counter. */
    public void write(long value) {
        if (value <= 0) {
            throw new IllegalArgumentException("eventfd value must be positive: " + value);
        }
        int f = fd.acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(JAVA_LONG);
            buf.set(JAVA_LONG, 0, value);
            if (Libc.write(f, buf) == Libc.WOULD_BLOCK) {
                throw new NativeException("write eventfd", Errno.EAGAIN.value());
            }
        } finally {
            fd.release();
        }
    }

    /** Takes and resets the counter; blocks until it is non-zero, or returns 0 at once if non-blocking. */
    public long read() {
        int f = fd.acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(JAVA_LONG);
            return Libc.read(f, buf) == Libc.WOULD_BLOCK ? 0 : buf.get(JAVA_LONG, 0);
        } finally {
            fd.release();
        }
    }

    /** The descriptor, for registering with KVM or a {@link PollSet}; owned by this object. */
    @Override
    public int fd() {
        return fd.fd();
    }

    @Override
    public void close() {
        fd.close();
    }
}
