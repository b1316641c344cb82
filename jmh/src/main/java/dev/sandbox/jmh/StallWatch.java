package dev.sandbox.jmh;

import dev.sandbox.engine.Sandbox;
import dev.sandbox.engine.Watchdog;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * Prints every thread's stack and the sandbox's diagnostics (vsock credit, queues, console) when a KVM benchmark
 * makes no progress for a while. A guest or VMM that stalls would otherwise leave only JMH's iteration timeout,
 * with nothing saying where it hung. Each benchmark call marks progress (one volatile write).
 */
final class StallWatch implements AutoCloseable {

    private static final Duration LIMIT = Duration.ofSeconds(120);

    private final Thread thread;
    private final Supplier<Sandbox> sandbox;
    private volatile long lastProgress = System.nanoTime();

    StallWatch(String what, Supplier<Sandbox> sandbox) {
        this.sandbox = sandbox;
        this.thread = Thread.ofPlatform().daemon().name("stall-watch").start(() -> watch(what));
    }

    void progress() {
        lastProgress = System.nanoTime();
    }

    private void watch(String what) {
        long reported = 0;
        try {
            while (true) {
                Thread.sleep(5000);
                long since = lastProgress;
                if (System.nanoTime() - since > LIMIT.toNanos() && since != reported) {
                    reported = since;
                    System.out.println(dump(what + ": no progress for over " + LIMIT));
                }
            }
        } catch (InterruptedException e) {
            // closed
        }
    }

    private String dump(String what) {
        StringBuilder s = new StringBuilder("\n" + what + "; threads:\n").append(Watchdog.threadDump());
        Sandbox sb = sandbox.get();
        if (sb != null) {
            s.append("sandbox ").append(sb.id()).append(": ").append(sb.diagnostics()).append('\n');
        }
        return s.toString();
    }

    /** A call failed: the same report, so a broken connection can be told from a stalled one. */
    void failed(Throwable e) {
        System.out.println(dump("call failed with " + e));
    }

    @Override
    public void close() {
        thread.interrupt();
    }
}
