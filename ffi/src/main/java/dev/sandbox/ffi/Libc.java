package dev.sandbox.ffi;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;

/**
 * Thin libc downcalls. Every call captures errno and throws {@link NativeException} on failure, so no -1 ever
 * reaches a caller; the few "expected" failures (EAGAIN on a non-blocking read, a timed-out sigtimedwait) come back
 * as documented values instead. Temporary memory (the errno capture, C strings) lives in a confined arena per call.
 *
 * <p>Callers outside this module should use the owners ({@link EventFd}, {@link Mapping}, the KVM fds) instead.
 */
public final class Libc {
    private Libc() {}

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final long ERRNO_OFFSET = CALL_STATE.byteOffset(groupElement("errno"));
    private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");

    private static final MethodHandle OPEN = handle("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = handle("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT), ERRNO);
    private static final MethodHandle READ = handle("read",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), ERRNO);
    private static final MethodHandle WRITE = handle("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), ERRNO);
    // ioctl is variadic: always declare the third argument, even for ioctls that take none (a zero-vararg
    // declaration returned -1 here). One handle per argument kind.
    private static final MethodHandle IOCTL_PTR = handle("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle IOCTL_LONG = handle("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle MMAP = handle("mmap",
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG), ERRNO);
    private static final MethodHandle MUNMAP = handle("munmap",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), ERRNO);
    private static final MethodHandle MADVISE = handle("madvise",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), ERRNO);
    private static final MethodHandle MSYNC = handle("msync",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), ERRNO);
    private static final MethodHandle LSEEK = handle("lseek",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT), ERRNO);
    private static final MethodHandle FTRUNCATE = handle("ftruncate",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG), ERRNO);
    private static final MethodHandle POLL = handle("poll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), ERRNO);
    private static final MethodHandle EVENTFD = handle("eventfd",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), ERRNO);
    private static final MethodHandle MEMFD_CREATE = handle("memfd_create",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), ERRNO);
    private static final MethodHandle GETPID = handle("getpid", FunctionDescriptor.of(JAVA_INT), ERRNO);
    private static final MethodHandle SETNS = handle("setns", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), ERRNO);
    private static final MethodHandle PTHREAD_SELF = handle("pthread_self", FunctionDescriptor.of(JAVA_LONG));
    // pthread_* return the error number instead of setting errno.
    private static final MethodHandle PTHREAD_KILL = handle("pthread_kill",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT));
    private static final MethodHandle PTHREAD_SIGMASK = handle("pthread_sigmask",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SIGEMPTYSET = handle("sigemptyset",
            FunctionDescriptor.of(JAVA_INT, ADDRESS), ERRNO);
    private static final MethodHandle SIGADDSET = handle("sigaddset",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), ERRNO);
    private static final MethodHandle SIGDELSET = handle("sigdelset",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), ERRNO);
    private static final MethodHandle SIGISMEMBER = handle("sigismember",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), ERRNO);
    private static final MethodHandle SIGPENDING = handle("sigpending",
            FunctionDescriptor.of(JAVA_INT, ADDRESS), ERRNO);
    private static final MethodHandle SIGTIMEDWAIT = handle("sigtimedwait",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS), ERRNO);
    // SIGRTMIN is a function call in glibc (it reserves the first real-time signals for itself).
    private static final MethodHandle SIGRTMIN = handle("__libc_current_sigrtmin", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle STRERROR = handle("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private static MethodHandle handle(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return LINKER.downcallHandle(symbol, fd, options);
    }

    private static int errno(MemorySegment state) {
        return state.get(JAVA_INT, ERRNO_OFFSET);
    }

    private static int check(String call, int result, MemorySegment state) {
        if (result == -1) {
            throw new NativeException(call, errno(state));
        }
        return result;
    }

    private static long check(String call, long result, MemorySegment state) {
        if (result == -1) {
            throw new NativeException(call, errno(state));
        }
        return result;
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("unexpected checked exception from a downcall", t);
    }

    /** open(2); returns the fd. */
    public static int open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path), flags, mode);
            return check("open " + path, fd, state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void close(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            check("close", (int) CLOSE.invokeExact(state, fd), state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** read(2) into {@code buf}; returns the byte count, or -2 when a non-blocking fd would block (EAGAIN). */
    public static long read(int fd, MemorySegment buf) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            long n = (long) READ.invokeExact(state, fd, buf, buf.byteSize());
            if (n == -1 && errno(state) == Errno.EAGAIN.value()) {
                return WOULD_BLOCK;
            }
            return check("read", n, state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Returned by {@link #read} and {@link #write} for EAGAIN on a non-blocking fd. */
    public static final long WOULD_BLOCK = -2;

    /** write(2) from {@code buf}; returns the byte count, or {@link #WOULD_BLOCK}. */
    public static long write(int fd, MemorySegment buf) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            long n = (long) WRITE.invokeExact(state, fd, buf, buf.byteSize());
            if (n == -1 && errno(state) == Errno.EAGAIN.value()) {
                return WOULD_BLOCK;
            }
            return check("write", n, state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** ioctl(2) with a pointer argument; {@code name} is the request's macro name, used in errors. */
    public static int ioctl(int fd, String name, long request, MemorySegment arg) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return check("ioctl " + name, (int) IOCTL_PTR.invokeExact(state, fd, request, arg), state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** ioctl(2) with an integer argument (or none: pass 0). */
    public static int ioctl(int fd, String name, long request, long arg) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return check("ioctl " + name, (int) IOCTL_LONG.invokeExact(state, fd, request, arg), state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Like {@link #ioctl(int, String, long, long)} but returns {@code -errno} instead of throwing for the errnos
     * the caller expects (e.g. EINTR and EAGAIN from KVM_RUN); every other failure still throws.
     */
    public static int ioctlAllowing(int fd, String name, long request, long arg, Errno... allowed) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int r = (int) IOCTL_LONG.invokeExact(state, fd, request, arg);
            if (r == -1) {
                int errno = errno(state);
                for (Errno a : allowed) {
                    if (errno == a.value()) {
                        return -errno;
                    }
                }
            }
            return check("ioctl " + name, r, state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** mmap(2) at a kernel-chosen address; returns the address (never MAP_FAILED). */
    public static long mmap(long length, int prot, int flags, int fd, long offset) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment p = (MemorySegment) MMAP.invokeExact(state, MemorySegment.NULL, length, prot, flags, fd,
                    offset);
            return check("mmap", p.address(), state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * mmap(2) with MAP_FIXED at {@code address}: replaces whatever was mapped there (the old pages are dropped).
     * Returns the address; the kernel never places a MAP_FIXED mapping elsewhere.
     */
    public static long mmapFixed(long address, long length, int prot, int flags, int fd, long offset) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment p = (MemorySegment) MMAP.invokeExact(state, MemorySegment.ofAddress(address), length, prot,
                    flags | LinuxAbi.MAP_FIXED, fd, offset);
            return check("mmap (fixed)", p.address(), state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void munmap(long address, long length) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            check("munmap", (int) MUNMAP.invokeExact(state, MemorySegment.ofAddress(address), length), state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void madvise(long address, long length, int advice) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int r = (int) MADVISE.invokeExact(state, MemorySegment.ofAddress(address), length, advice);
            check("madvise", r, state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void msync(long address, long length, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int r = (int) MSYNC.invokeExact(state, MemorySegment.ofAddress(address), length, flags);
            check("msync", r, state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** lseek(2); -1 when {@code whence} is SEEK_DATA or SEEK_HOLE and no data follows {@code offset} (ENXIO). */
    public static long lseek(int fd, long offset, int whence) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            long r = (long) LSEEK.invokeExact(state, fd, offset, whence);
            if (r == -1 && errno(state) == Errno.ENXIO.value()) {
                return -1;
            }
            return check("lseek", r, state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void ftruncate(int fd, long length) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            check("ftruncate", (int) FTRUNCATE.invokeExact(state, fd, length), state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * poll(2) on {@code count} {@link LinuxAbi#pollfd} entries of {@code fds}, waiting at most {@code timeoutMillis}
     * (-1: no limit). Returns how many entries have events in {@code revents}; 0 on a timeout and on EINTR.
     */
    public static int poll(MemorySegment fds, int count, int timeoutMillis) {
        if (count < 0 || fds.byteSize() < count * LinuxAbi.pollfd.byteSize()) {
            throw new IllegalArgumentException("poll: " + count + " entries do not fit " + fds.byteSize() + " bytes");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int r = (int) POLL.invokeExact(state, fds, (long) count, timeoutMillis);
            if (r == -1 && errno(state) == Errno.EINTR.value()) {
                return 0;
            }
            return check("poll", r, state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int eventfd(int initialValue, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return check("eventfd", (int) EVENTFD.invokeExact(state, initialValue, flags), state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int memfdCreate(String name, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = (int) MEMFD_CREATE.invokeExact(state, arena.allocateFrom(name), flags);
            return check("memfd_create " + name, fd, state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int getpid() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return check("getpid", (int) GETPID.invokeExact(state), state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * setns(2): moves the calling OS thread (not the process) into the namespace {@code fd} refers to. Call it only
     * on a platform thread that ends afterwards: see {@link dev.sandbox.ffi.net.NetNamespace}.
     */
    public static void setns(int fd, int nstype) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            check("setns", (int) SETNS.invokeExact(state, fd, nstype), state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The calling thread's pthread_t. */
    public static long pthreadSelf() {
        try {
            return (long) PTHREAD_SELF.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** pthread_kill(3): the thread must still be alive, which the caller guarantees. */
    public static void pthreadKill(long thread, int signal) {
        try {
            int err = (int) PTHREAD_KILL.invokeExact(thread, signal);
            if (err != 0) {
                throw new NativeException("pthread_kill " + signal, err);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** pthread_sigmask(3); {@code set} and {@code oldSet} are sigset_t segments or NULL. */
    public static void pthreadSigmask(int how, MemorySegment set, MemorySegment oldSet) {
        try {
            int err = (int) PTHREAD_SIGMASK.invokeExact(how, set, oldSet);
            if (err != 0) {
                throw new NativeException("pthread_sigmask", err);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void sigemptyset(MemorySegment set) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            check("sigemptyset", (int) SIGEMPTYSET.invokeExact(state, set), state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void sigaddset(MemorySegment set, int signal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            check("sigaddset " + signal, (int) SIGADDSET.invokeExact(state, set, signal), state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void sigdelset(MemorySegment set, int signal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            check("sigdelset " + signal, (int) SIGDELSET.invokeExact(state, set, signal), state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static boolean sigismember(MemorySegment set, int signal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return check("sigismember " + signal, (int) SIGISMEMBER.invokeExact(state, set, signal), state) == 1;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** sigpending(2) of the calling thread (its own plus the process's pending signals) into {@code set}. */
    public static void sigpending(MemorySegment set) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            check("sigpending", (int) SIGPENDING.invokeExact(state, set), state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * sigtimedwait(2) for a signal of {@code set} (which must be blocked), waiting at most {@code timeoutNanos}.
     * Returns the signal taken, or 0 when none came in time. EINTR (another signal's handler ran) also returns 0.
     */
    public static int sigtimedwait(MemorySegment set, long timeoutNanos) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment ts = arena.allocate(LinuxAbi.timespec);
            ts.set(JAVA_LONG, LinuxAbi.timespec.byteOffset(groupElement("tv_sec")), timeoutNanos / 1_000_000_000L);
            ts.set(JAVA_LONG, LinuxAbi.timespec.byteOffset(groupElement("tv_nsec")), timeoutNanos % 1_000_000_000L);
            int r = (int) SIGTIMEDWAIT.invokeExact(state, set, MemorySegment.NULL, ts);
            if (r == -1 && (errno(state) == Errno.EAGAIN.value() || errno(state) == Errno.EINTR.value())) {
                return 0;
            }
            return check("sigtimedwait", r, state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** glibc's SIGRTMIN (34 with NPTL: it keeps 32 and 33 for itself). */
    public static int sigrtmin() {
        try {
            return (int) SIGRTMIN.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** strerror(3) text for an errno value. */
    public static String strerror(int errno) {
        try {
            MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
            // The strings are short and static; 1 KiB bounds the scan for the terminating NUL.
            return text.equals(MemorySegment.NULL) ? "?" : text.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
