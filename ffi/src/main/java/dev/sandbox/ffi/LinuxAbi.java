package dev.sandbox.ffi;

import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.StructLayout;

/**
 * libc and kernel constants and layouts for Linux x86_64. Each public field is named exactly as its C macro or
 * type, so the ABI test can print every one of them from C and compare: nothing here is unchecked.
 */
public final class LinuxAbi {
    private LinuxAbi() {}

    // <fcntl.h>
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0100;
    public static final int O_TRUNC = 01000;
    public static final int O_NONBLOCK = 04000;
    public static final int O_CLOEXEC = 02000000;

    // <sys/mman.h>
    public static final int PROT_NONE = 0;
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_FIXED = 0x10;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int MAP_POPULATE = 0x8000;
    public static final int MADV_NORMAL = 0;
    public static final int MADV_RANDOM = 1;
    public static final int MADV_SEQUENTIAL = 2;
    public static final int MADV_WILLNEED = 3;
    public static final int MADV_DONTNEED = 4;
    public static final int MADV_REMOVE = 9;
    public static final int MADV_DONTFORK = 10;
    public static final int MADV_DOFORK = 11;
    public static final int MADV_MERGEABLE = 12;
    public static final int MADV_UNMERGEABLE = 13;
    public static final int MADV_HUGEPAGE = 14;
    public static final int MADV_NOHUGEPAGE = 15;
    public static final int MADV_DONTDUMP = 16;
    public static final int MS_ASYNC = 1;
    public static final int MS_INVALIDATE = 2;
    public static final int MS_SYNC = 4;
    public static final int MFD_CLOEXEC = 1;
    public static final int MFD_ALLOW_SEALING = 2;

    // <sys/eventfd.h>
    public static final int EFD_SEMAPHORE = 1;
    public static final int EFD_NONBLOCK = 04000;
    public static final int EFD_CLOEXEC = 02000000;

    // <unistd.h>: lseek whence
    public static final int SEEK_DATA = 3;
    public static final int SEEK_HOLE = 4;

    // <poll.h>
    public static final int POLLIN = 0x001;
    public static final int POLLERR = 0x008;
    public static final int POLLHUP = 0x010;
    public static final int POLLNVAL = 0x020;

    // <sched.h>: setns(2) namespace types
    public static final int CLONE_NEWNET = 0x40000000;

    // <signal.h>
    public static final int SIG_BLOCK = 0;
    public static final int SIG_UNBLOCK = 1;
    public static final int SIG_SETMASK = 2;

    /*
     * struct timespec { time_t tv_sec; long tv_nsec; };
     */
    public static final StructLayout timespec = structLayout(
            JAVA_LONG.withName("tv_sec"),
            JAVA_LONG.withName("tv_nsec")).withName("timespec");

    /*
     * struct pollfd { int fd; short int events; short int revents; };
     */
    public static final StructLayout pollfd = structLayout(
            JAVA_INT.withName("fd"),
            JAVA_SHORT.withName("events"),
            JAVA_SHORT.withName("revents")).withName("pollfd");

    /*
     * typedef struct { unsigned long int __val[1024 / (8 * sizeof (unsigned long int))]; } __sigset_t;
     * typedef __sigset_t sigset_t;
     * glibc's set is 128 bytes; the kernel's (and KVM_SET_SIGNAL_MASK's) is the first 8 of them.
     */
    public static final StructLayout sigset_t = structLayout(
            sequenceLayout(16, JAVA_LONG).withName("__val")).withName("sigset_t");

    /** Size of the kernel's sigset_t: 64 signals. KVM_SET_SIGNAL_MASK rejects any other length. */
    static final int KERNEL_SIGSET_BYTES = 8;
}
