package dev.sandbox.ffi.net;

import dev.sandbox.ffi.Libc;
import dev.sandbox.ffi.LinuxAbi;
import java.util.regex.Pattern;

/**
 * Runs an action inside a named network namespace ({@code /run/netns/<name>}, what {@code ip netns add} makes).
 *
 * <p>{@code setns(2)} moves one OS thread, for good: a virtual thread would carry the namespace to whatever its
 * carrier runs next, and a pooled thread to its next task. So every call gets a fresh platform thread that enters
 * the namespace, runs the action and ends; the caller waits for it. What the action creates there stays there: a
 * TAP opened by {@link Tap#open} is that namespace's interface, and its descriptor keeps working (and keeps the
 * namespace alive) after the thread is gone. Sockets and files opened in the action behave the same way, and a
 * {@code /proc/sys/net} file opened there is that namespace's setting. A process started from the action inherits
 * the namespace too.
 */
public final class NetNamespace {
    /** Where {@code ip netns} keeps the namespaces it names. */
    public static final String RUN_DIR = "/run/netns";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,200}");

    private NetNamespace() {}

    /** An action that may throw {@code X}, which {@link #call} throws on in the caller's thread. */
    @FunctionalInterface
    public interface Action<T, X extends Exception> {
        T run() throws X;
    }

    /**
     * Runs {@code action} on a new platform thread inside namespace {@code name} and returns its result; what it
     * throws is thrown here. Waits for the thread even when interrupted (the interrupt is kept), so nothing the
     * action opened is ever left without an owner.
     *
     * @throws dev.sandbox.ffi.NativeException when the namespace cannot be opened (ENOENT: no such namespace) or
     *                                         entered (EPERM without CAP_SYS_ADMIN)
     */
    public static <T, X extends Exception> T call(String name, Action<T, X> action) throws X {
        if (name == null || !NAME.matcher(name).matches() || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("not a namespace name: " + name);
        }
        int fd = Libc.open(RUN_DIR + "/" + name, LinuxAbi.O_RDONLY | LinuxAbi.O_CLOEXEC, 0);
        try {
            Outcome<T> outcome = new Outcome<>();
            Thread thread = Thread.ofPlatform().name("netns-" + name).daemon(true).unstarted(() -> {
                try {
                    Libc.setns(fd, LinuxAbi.CLONE_NEWNET);
                    outcome.value = action.run();
                } catch (Throwable t) {
                    outcome.failure = t;
                }
            });
            thread.start();
            joinUninterruptibly(thread);
            return outcome.get();
        } finally {
            Libc.close(fd);
        }
    }

    /** Runs an action that returns nothing; see {@link #call}. */
    public static <X extends Exception> void run(String name, VoidAction<X> action) throws X {
        call(name, () -> {
            action.run();
            return null;
        });
    }

    /** An action without a result. */
    @FunctionalInterface
    public interface VoidAction<X extends Exception> {
        void run() throws X;
    }

    private static void joinUninterruptibly(Thread thread) {
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Written by the namespace thread, read after join (which orders the two). */
    private static final class Outcome<T> {
        T value;
        Throwable failure;

        @SuppressWarnings("unchecked")
        <X extends Exception> T get() throws X {
            return switch (failure) {
                case null -> value;
                case RuntimeException e -> throw e;
                case Error e -> throw e;
                // The action's signature allows only X besides unchecked ones.
                default -> throw (X) failure;
            };
        }
    }
}
