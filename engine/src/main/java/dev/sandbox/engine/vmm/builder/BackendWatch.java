package dev.sandbox.engine.vmm.builder;

import dev.sandbox.ffi.EventFd;
import dev.sandbox.ffi.PollSet;
import dev.sandbox.ffi.Pollable;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * The thread that tells a NIC its backend has packets for the guest: it polls the backend's descriptor (a TAP) and
 * calls the device ({@code VirtioNet::backendReadable}). One per NIC, beside {@link DeviceEvents}: that thread is
 * closed for a snapshot and not started again when the VM is revived (its ioeventfds go with it, notifications fall
 * back to MMIO exits), while a revived VM must still receive; and a loop of its own can be tested without KVM.
 *
 * <p>Disarming: the device answers false when it stopped reading the backend (a packet waits for a guest buffer, or
 * the driver is not running the device). The backend then stays readable, so polling it on would spin a core; the
 * thread polls only its wake eventfd until {@link #rearm()} (the device's resume listener) writes it. A re-arm that
 * crosses the device's answer costs at most one extra call that answers false again.
 *
 * <p>{@link #close()} stops the thread (before a snapshot, or for good) and {@link #start()} starts a new one that
 * watches at once (a revived VM); the backend's descriptor must stay open while the thread runs.
 */
final class BackendWatch implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(BackendWatch.class.getName());
    private static final long JOIN_TIMEOUT_MS = TimeUnit.SECONDS.toMillis(10);

    private final String name;
    private final Pollable backend;
    private final BooleanSupplier readable;
    private final AtomicLong wakeups = new AtomicLong();
    /** The running thread's, or null; each thread has its own, so a late one never sees its successor's. */
    private volatile Run current;

    private record Run(Thread thread, EventFd wake, AtomicBoolean stopping) {
    }

    /** {@code readable} delivers what the backend has and answers whether to go on watching it. */
    BackendWatch(String name, Pollable backend, BooleanSupplier readable) {
        this.name = name;
        this.backend = backend;
        this.readable = readable;
    }

    /** Starts the thread, watching the backend at once; nothing if it runs. */
    synchronized void start() {
        if (current != null) {
            return;
        }
        EventFd newWake = EventFd.create(true);
        PollSet both = null;
        PollSet wakeOnly = null;
        try {
            both = new PollSet(List.of(newWake, backend));
            wakeOnly = new PollSet(List.of(newWake));
            PollSet b = both;
            PollSet w = wakeOnly;
            AtomicBoolean stopping = new AtomicBoolean();
            Thread t = Thread.ofPlatform().name(name).daemon(true).unstarted(() -> run(newWake, stopping, b, w));
            t.start();
            current = new Run(t, newWake, stopping);
        } catch (RuntimeException | Error e) {
            if (both != null) {
                both.close();
            }
            if (wakeOnly != null) {
                wakeOnly.close();
            }
            newWake.close();
            throw e;
        }
    }

    /** Watch the backend again; any thread, never blocks. Nothing happens while the thread is stopped. */
    void rearm() {
        Run run = current;
        if (run != null) {
            try {
                run.wake().write(1);
            } catch (IllegalStateException closed) {
                // stopped meanwhile: the next start watches anyway
            }
        }
    }

    /** How often the thread came out of poll; for tests that check it does not spin. */
    long wakeups() {
        return wakeups.get();
    }

    private void run(EventFd myWake, AtomicBoolean stopping, PollSet both, PollSet wakeOnly) {
        try (both; wakeOnly) {
            boolean watching = true;
            while (!stopping.get()) {
                PollSet set = watching ? both : wakeOnly;
                int ready = set.await(-1);
                wakeups.incrementAndGet();
                if (ready == 0) {
                    continue; // EINTR
                }
                if (set.failed(0)) {
                    throw new IllegalStateException("wake eventfd failed in poll");
                }
                if (set.readable(0)) {
                    myWake.read();
                    watching = true;
                }
                if (set == both && !stopping.get()) {
                    if (set.failed(1)) {
                        LOG.log(System.Logger.Level.WARNING, "{0}: the network backend failed in poll (interface"
                                + " gone?); the guest receives nothing more", name);
                        return;
                    }
                    if (set.readable(1)) {
                        watching = deliver();
                    }
                }
            }
        } catch (RuntimeException e) {
            if (!stopping.get()) {
                LOG.log(System.Logger.Level.ERROR, name + ": network thread failed; the guest receives nothing", e);
            }
        }
    }

    // A device that throws stops the watch until its next re-arm, rather than be called in a loop.
    private boolean deliver() {
        try {
            return readable.getAsBoolean();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, name + ": delivering packets to the guest failed", e);
            return false;
        }
    }

    /** Stops the thread and releases its wake eventfd; {@link #start()} may follow. */
    @Override
    public synchronized void close() throws InterruptedException {
        Run run = current;
        if (run == null) {
            return;
        }
        current = null;
        run.stopping().set(true);
        try {
            run.wake().write(1);
            run.thread().join(JOIN_TIMEOUT_MS);
        } finally {
            run.wake().close();
        }
        if (run.thread().isAlive()) {
            throw new IllegalStateException("network thread " + name + " did not stop");
        }
    }
}
