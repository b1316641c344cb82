package dev.sandbox.server;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** Runs {@link SandboxService#reap()} on a timer, on one daemon thread. */
final class Reaper implements AutoCloseable {

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "sandbox-reaper");
        t.setDaemon(true);
        return t;
    });

    Reaper(SandboxService sandboxes, Duration interval) {
        long ms = interval.toMillis();
        timer.scheduleWithFixedDelay(sandboxes::reap, ms, ms, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
