package dev.sandbox.engine.vmm.vstate;

import dev.sandbox.ffi.kvm.Regs;
import dev.sandbox.ffi.kvm.Sregs;
import dev.sandbox.ffi.kvm.VcpuExit;
import dev.sandbox.ffi.kvm.VcpuFd;
import dev.sandbox.ffi.kvm.VcpuKicker;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * One vCPU on its own platform thread (KVM_RUN blocks the thread). Other threads steer it with {@link VcpuCommand}s
 * over a queue plus a kick that gets it out of KVM_RUN; the thread applies them between runs, so only it ever touches
 * the vCPU fd while running. When the guest stops or KVM fails, the thread finishes and reports the reason once to
 * {@code onStop}; a STOP command finishes it silently. Closing joins the thread, then closes the fd.
 */
public final class Vcpu implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Vcpu.class.getName());
    /** Exits to print on stderr per vCPU, for debugging a boot: {@code -Dsandbox.vmm.traceExits=200}. */
    private static final int TRACE_EXITS = Integer.getInteger("sandbox.vmm.traceExits", 0);
    static final Duration JOIN_TIMEOUT = Duration.ofSeconds(10);

    private record Request(VcpuCommand command, CompletableFuture<VcpuState> done) {
    }

    private final VcpuFd fd;
    private final ExitHandler exits;
    private final Consumer<StopReason> onStop;
    private final LinkedBlockingQueue<Request> commands = new LinkedBlockingQueue<>();
    private volatile VcpuKicker kicker;
    private volatile VcpuState state = VcpuState.RUNNING;
    private Thread thread;
    private long exitCount;

    public Vcpu(VcpuFd fd, ExitHandler exits, Consumer<StopReason> onStop) {
        this.fd = fd;
        this.exits = exits;
        this.onStop = onStop;
    }

    public int id() {
        return fd.id();
    }

    public VcpuState state() {
        return state;
    }

    /**
     * The fd of a paused vCPU, for reading its state from another thread: its own thread is parked on the command
     * queue, out of KVM_RUN, with the last instruction completed (see {@code settle}).
     */
    public VcpuFd pausedFd() {
        if (state != VcpuState.PAUSED) {
            throw new IllegalStateException("vCPU " + id() + " is " + state + ", not PAUSED");
        }
        return fd;
    }

    /** The fd of a vCPU whose thread has not started, for restoring its state. */
    public VcpuFd unstartedFd() {
        synchronized (this) {
            if (thread != null) {
                throw new IllegalStateException("vCPU " + id() + " already started");
            }
        }
        return fd;
    }

    /** Starts the thread; the vCPU must be configured. */
    public synchronized void start(String name) {
        if (thread != null) {
            throw new IllegalStateException("vCPU " + id() + " already started");
        }
        thread = Thread.ofPlatform().name(name).daemon(true).start(this::threadMain);
    }

    /** Sends {@code command}; the future completes with the state once the thread applied it (or has finished). */
    public CompletableFuture<VcpuState> send(VcpuCommand command) {
        CompletableFuture<VcpuState> done = new CompletableFuture<>();
        if (state == VcpuState.FINISHED) {
            done.complete(VcpuState.FINISHED);
            return done;
        }
        commands.add(new Request(command, done));
        VcpuKicker k = kicker;
        if (k != null) {
            k.kick();
        }
        if (state == VcpuState.FINISHED) { // raced with the thread's exit: it may never drain the queue
            drainFinished();
        }
        return done;
    }

    /** Sends {@code command} and waits for it to be applied. */
    public VcpuState sendAndWait(VcpuCommand command, Duration timeout) {
        try {
            return send(command).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for vCPU " + id());
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("vCPU " + id() + " did not apply " + command + " in " + timeout, e);
        }
    }

    /**
     * Stops the thread (if running), joins it and closes the vCPU fd. Not from the vCPU's own thread. A thread that
     * does not finish within {@link #JOIN_TIMEOUT} despite repeated kicks is reported with its stack and its fd left
     * open (a leak, but never a hang of the caller, and never an fd pulled from under a running KVM_RUN).
     */
    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t != null) {
            send(VcpuCommand.STOP);
            if (!join(t)) {
                StringBuilder stack = new StringBuilder();
                for (StackTraceElement e : t.getStackTrace()) {
                    stack.append("\n    at ").append(e);
                }
                throw new IllegalStateException("vCPU " + id() + " thread did not stop within " + JOIN_TIMEOUT
                        + " (state " + state + "); its fd stays open. Stack:" + stack);
            }
        }
        fd.close();
    }

    /** Joins, kicking again every second in case the thread was between its queue check and KVM_RUN. */
    private boolean join(Thread t) {
        long deadline = System.nanoTime() + JOIN_TIMEOUT.toNanos();
        boolean interrupted = false;
        while (t.isAlive() && System.nanoTime() < deadline) {
            try {
                t.join(1000);
            } catch (InterruptedException e) {
                interrupted = true;
            }
            VcpuKicker k = kicker;
            if (t.isAlive() && k != null) {
                k.kick();
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return !t.isAlive();
    }

    private void threadMain() {
        StopReason reason = null;
        try (VcpuKicker k = VcpuKicker.install(fd)) {
            kicker = k;
            reason = loop(k);
        } catch (Throwable t) {
            reason = new StopReason.Failed("vCPU " + id() + " thread failed: " + t);
            LOG.log(System.Logger.Level.ERROR, "vCPU " + id() + " failed", t);
        } finally {
            kicker = null;
            state = VcpuState.FINISHED;
            drainFinished();
        }
        if (reason != null) {
            onStop.accept(reason);
        }
    }

    /** Runs until a STOP (returns null) or until the guest or KVM ends it (returns why). */
    private StopReason loop(VcpuKicker k) throws InterruptedException {
        while (true) {
            Request request;
            while ((request = state == VcpuState.PAUSED ? commands.take() : commands.poll()) != null) {
                VcpuState next = state.on(request.command());
                if (state == VcpuState.RUNNING && next == VcpuState.PAUSED) {
                    settle(k);
                }
                state = next;
                request.done().complete(state);
                if (state == VcpuState.FINISHED) {
                    return null;
                }
            }
            VcpuExit exit = fd.run();
            ExitCounts.count(exit);
            trace(exit);
            switch (exits.handle(exit)) {
                case ExitOutcome.Continue ignored -> {
                }
                case ExitOutcome.Kicked ignored -> k.acknowledge();
                case ExitOutcome.Stop stop -> {
                    return withRegisters(stop.reason());
                }
            }
        }
    }

    /**
     * Completes an instruction whose port or MMIO access was just handled: KVM finishes it on the next KVM_RUN, so
     * a paused vCPU's registers are only whole (and fit for a snapshot) after one run that enters no guest code.
     */
    private void settle(VcpuKicker k) {
        fd.setImmediateExit(true);
        try {
            VcpuExit exit = fd.run();
            if (!(exit instanceof VcpuExit.Intr)) {
                LOG.log(System.Logger.Level.WARNING, "vCPU {0}: settling before a pause gave {1}", id(), exit);
            }
        } finally {
            k.acknowledge();
        }
    }

    /** A failure or crash says where the vCPU was: the first thing to look at for a guest that died. */
    private StopReason withRegisters(StopReason reason) {
        String details = switch (reason) {
            case StopReason.Failed f -> f.details();
            case StopReason.Crashed c -> c.how();
            default -> null;
        };
        if (details == null) {
            return reason;
        }
        String where;
        try {
            Regs r = fd.getRegs();
            Sregs s = fd.getSregs();
            where = "vCPU %d: %s; rip=0x%x rsp=0x%x rflags=0x%x cr0/cr2/cr3/cr4=0x%x/0x%x/0x%x/0x%x".formatted(id(),
                    details, r.rip(), r.rsp(), r.rflags(), s.cr0(), s.cr2(), s.cr3(), s.cr4());
        } catch (RuntimeException e) {
            where = "vCPU " + id() + ": " + details;
        }
        return reason instanceof StopReason.Crashed ? new StopReason.Crashed(where) : new StopReason.Failed(where);
    }

    private void trace(VcpuExit exit) {
        if (exitCount++ < TRACE_EXITS) {
            String what = switch (exit) {
                case VcpuExit.Io io -> "io %s port 0x%x size %d count %d value 0x%x".formatted(io.direction(),
                        io.port(), io.size(), io.count(), io.direction() == VcpuExit.Direction.OUT ? io.value() : 0);
                case VcpuExit.Mmio m -> "mmio %s 0x%x len %d".formatted(m.isWrite() ? "write" : "read", m.address(),
                        m.length());
                default -> exit.toString();
            };
            System.err.println("vcpu" + id() + " exit " + exitCount + ": " + what);
        }
    }

    private void drainFinished() {
        Request request;
        while ((request = commands.poll()) != null) {
            request.done().complete(VcpuState.FINISHED);
        }
    }
}
