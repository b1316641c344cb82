package dev.sandbox.engine.vmm.builder;

import dev.sandbox.ffi.EventFd;
import dev.sandbox.ffi.PollSet;
import dev.sandbox.ffi.kvm.VmFd;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * The device thread of one microVM: virtio queue notifications arrive through KVM ioeventfds and are processed here,
 * one platform thread polling every eventfd plus a wake eventfd used to stop it.
 */
final class DeviceEvents implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DeviceEvents.class.getName());
    private static final long JOIN_TIMEOUT_MS = TimeUnit.SECONDS.toMillis(10);

    private record Notifier(EventFd event, long address, int queue, Runnable handler) {
    }

    private final String name;
    private final VmFd vm;
    private final List<Notifier> notifiers = new ArrayList<>();
    private final EventFd wake = EventFd.create(true);
    private volatile boolean stopping;
    private Thread thread;
    private boolean closed;

    DeviceEvents(String name, VmFd vm) {
        this.name = name;
        this.vm = vm;
    }

    synchronized boolean addQueueNotify(long address, int queue, Runnable handler) {
        if (thread != null || closed) {
            throw new IllegalStateException("device events of " + name + " already started");
        }
        EventFd event = EventFd.create(true);
        try {
            vm.ioeventfd(event, address, 4, false, OptionalLong.of(queue));
        } catch (RuntimeException e) {
            event.close();
            LOG.log(System.Logger.Level.WARNING, "{0}: no ioeventfd for queue {1} at 0x{2}, notifications stay on"
                    + " the vCPU thread: {3}", name, queue, Long.toHexString(address), e.getMessage());
            return false;
        }
        notifiers.add(new Notifier(event, address, queue, handler));
        return true;
    }

    synchronized void start() {
        if (thread != null || closed || notifiers.isEmpty()) {
            return;
        }
        List<EventFd> fds = new ArrayList<>();
        fds.add(wake);
        notifiers.forEach(n -> fds.add(n.event()));
        PollSet set = new PollSet(fds);
        thread = Thread.ofPlatform().name(name).daemon(true).unstarted(() -> run(set));
        thread.start();
    }

    private void run(PollSet set) {
        try (set) {
            while (!stopping) {
                if (set.await(-1) == 0) {
                    continue;
                }
                if (set.readable(0)) {
                    wake.read();
                }
                for (int i = 1; i < set.size() && !stopping; i++) {
                    if (set.failed(i)) {
                        throw new IllegalStateException("eventfd of queue " + notifiers.get(i - 1).queue()
                                + " failed in poll");
                    }
                    if (set.readable(i)) {
                        Notifier n = notifiers.get(i - 1);
                        n.event().read();
                        deliver(n);
                    }
                }
            }
        } catch (RuntimeException e) {
            if (!stopping) {
                LOG.log(System.Logger.Level.ERROR, name + ": device thread failed; virtio queues stall", e);
            }
        }
    }

    private void deliver(Notifier n) {
        try {
            n.handler().run();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, name + ": queue " + n.queue() + " notification failed", e);
        }
    }

    @Override
    public synchronized void close() throws InterruptedException {
        if (closed) {
            return;
        }
        closed = true;
        stopping = true;
        List<RuntimeException> failures = new ArrayList<>();
        if (thread != null) {
            wake.write(1);
            thread.join(JOIN_TIMEOUT_MS);
            if (thread.isAlive()) {
                failures.add(new IllegalStateException("device thread " + name + " did not stop"));
            }
        }
        for (Notifier n : notifiers) {
            try {
                vm.removeIoeventfd(n.event(), n.address(), 4, false, OptionalLong.of(n.queue()));
            } catch (RuntimeException e) {
                failures.add(e);
            }
            n.event().close();
        }
        wake.close();
        if (!failures.isEmpty()) {
            RuntimeException e = failures.getFirst();
            failures.stream().skip(1).forEach(e::addSuppressed);
            throw e;
        }
    }
}
