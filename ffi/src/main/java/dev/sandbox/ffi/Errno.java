package dev.sandbox.ffi;

/**
 * The errno values we name in messages (Linux x86_64 numbers; a test checks each against {@code <errno.h>}).
 */
public enum Errno {
    EPERM(1), ENOENT(2), ESRCH(3), EINTR(4), EIO(5), ENXIO(6), E2BIG(7), ENOEXEC(8), EBADF(9), ECHILD(10),
    EAGAIN(11), ENOMEM(12), EACCES(13), EFAULT(14), EBUSY(16), EEXIST(17), EXDEV(18), ENODEV(19), ENOTDIR(20),
    EISDIR(21), EINVAL(22), ENFILE(23), EMFILE(24), ENOTTY(25), EFBIG(27), ENOSPC(28), ESPIPE(29), EROFS(30),
    EMLINK(31), EPIPE(32), ERANGE(34), EDEADLK(35), ENAMETOOLONG(36), ENOSYS(38), ELOOP(40), ENOTSOCK(88),
    EPROTONOSUPPORT(93), EOPNOTSUPP(95), EAFNOSUPPORT(97), EADDRINUSE(98), EADDRNOTAVAIL(99), ENETUNREACH(101),
    ECONNRESET(104), ENOTCONN(107), ETIMEDOUT(110), ECONNREFUSED(111), EHOSTUNREACH(113), EALREADY(114),
    EINPROGRESS(115);

    private static final Errno[] BY_VALUE = new Errno[128];

    static {
        for (Errno e : values()) {
            BY_VALUE[e.value] = e;
        }
    }

    private final int value;

    Errno(int value) {
        this.value = value;
    }

    public int value() {
        return value;
    }

    /** {@code "ENOENT"} for 2; {@code "errno N"} for a number outside the table. */
    public static String symbol(int errno) {
        Errno e = errno >= 0 && errno < BY_VALUE.length ? BY_VALUE[errno] : null;
        return e != null ? e.name() : "errno " + errno;
    }
}
