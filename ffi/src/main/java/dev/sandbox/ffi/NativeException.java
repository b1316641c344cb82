package dev.sandbox.ffi;

/**
 * The one exception every failed native call throws: it names the call, the errno symbol and the strerror text,
 * e.g. {@code "ioctl KVM_CREATE_VM: EINVAL (Invalid argument)"}.
 */
public final class NativeException extends RuntimeException {
    private final String call;
    private final int errno;

    public NativeException(String call, int errno) {
        super(call + ": " + Errno.symbol(errno) + " (" + Libc.strerror(errno) + ")");
        this.call = call;
        this.errno = errno;
    }

    /** The call that failed, e.g. {@code "open /dev/kvm"} or {@code "ioctl KVM_RUN"}. */
    public String call() {
        return call;
    }

    public int errno() {
        return errno;
    }

    /** The symbol, e.g. {@code "ENOENT"}, or {@code "errno 123"} for numbers outside the table. */
    public String errnoSymbol() {
        return Errno.symbol(errno);
    }

    public boolean is(Errno e) {
        return e.value() == errno;
    }
}
