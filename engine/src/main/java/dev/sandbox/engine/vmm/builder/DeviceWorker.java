package dev.sandbox.engine.vmm.builder;

import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A device's helper thread (the vsock RX filler) that can be stopped for a snapshot and started again if the
 * snapshot could not be written and the VM goes on running. Tasks sent while stopped are refused, as by any
 * shut-down executor.
 */
final class DeviceWorker implements Executor, AutoCloseable {
    private final String name;
    private volatile ExecutorService current;

    DeviceWorker(String name) {
        this.name = name;
        this.current = newExecutor();
    }

    private ExecutorService newExecutor() {
        return Executors.newSingleThreadExecutor(Thread.ofPlatform().name(name).daemon(true).factory());
    }

    @Override
    public void execute(Runnable task) {
        current.execute(task);
    }

    /** A new thread after {@link #close()}; nothing if it runs. */
    synchronized void restart() {
        if (current.isShutdown()) {
            current = newExecutor();
        }
    }

    @Override
    public synchronized void close() throws InterruptedException {
        current.shutdownNow();
        current.awaitTermination(10, TimeUnit.SECONDS);
    }
}
