package dev.sandbox.ffi.kvm;

import dev.sandbox.ffi.Libc;
import java.lang.foreign.MemorySegment;

/** A file descriptor with a name for errors and a close that happens once. */
final class OwnedFd implements AutoCloseable {
    private final int fd;
    private final String what;
    private volatile boolean closed;

    OwnedFd(int fd, String what) {
        this.fd = fd;
        this.what = what;
    }

    int get() {
        if (closed) {
            throw new IllegalStateException(what + " is closed");
        }
        return fd;
    }

    int ioctl(Ioctl request, MemorySegment arg) {
        return Libc.ioctl(get(), request.name(), request.number(), arg);
    }

    int ioctl(Ioctl request, long arg) {
        return Libc.ioctl(get(), request.name(), request.number(), arg);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Libc.close(fd);
        }
    }
}
