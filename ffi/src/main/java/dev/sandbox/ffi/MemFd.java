package dev.sandbox.ffi;

/** Owner of a memfd_create(2) file: anonymous memory with an fd, so it can be mapped shared or sealed. */
public final class MemFd implements AutoCloseable {
    private final int fd;
    private final long size;
    private volatile boolean closed;

    private MemFd(int fd, long size) {
        this.fd = fd;
        this.size = size;
    }

    /** A close-on-exec memfd of {@code size} bytes (sparse: pages are allocated when touched). */
    public static MemFd create(String name, long size) {
        int fd = Libc.memfdCreate(name, LinuxAbi.MFD_CLOEXEC);
        try {
            Libc.ftruncate(fd, size);
        } catch (RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
        return new MemFd(fd, size);
    }

    /** Maps the whole file; the mapping stays valid after this MemFd is closed. */
    public Mapping map(Mapping.Sharing sharing, boolean noReserve) {
        return Mapping.ofFd(fd(), 0, size, sharing, noReserve);
    }

    /**
     * Bit i set: page i holds data (was ever written, in memory or swapped out); the others are holes and read as
     * zeros. From SEEK_DATA/SEEK_HOLE, which tmpfs answers per page.
     */
    public java.util.BitSet dataPages() {
        java.util.BitSet pages = new java.util.BitSet();
        long at = 0;
        while (at < size) {
            long data = Libc.lseek(fd(), at, LinuxAbi.SEEK_DATA);
            if (data < 0) {
                break;
            }
            long hole = Libc.lseek(fd(), data, LinuxAbi.SEEK_HOLE);
            long end = hole < 0 ? size : Math.min(hole, size);
            pages.set((int) (data / 4096), (int) ((end + 4095) / 4096));
            at = end;
        }
        return pages;
    }

    public long size() {
        return size;
    }

    public int fd() {
        if (closed) {
            throw new IllegalStateException("memfd closed");
        }
        return fd;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Libc.close(fd);
        }
    }
}
