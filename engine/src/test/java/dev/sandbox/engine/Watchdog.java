package dev.sandbox.engine;

import java.time.Duration;

/**
 * Prints every thread's stack if a step takes far too long. In the nested host a cycle now and then hangs without
 * a word; a dump in the log means our code was stuck (and says where), none before the stall limit means the host
 * was.
 */
public final class Watchdog implements AutoCloseable {
    private final Thread thread;

    Watchdog(String what, Duration limit) {
        thread = Thread.ofPlatform().daemon().name("watchdog").start(() -> {
            try {
                Thread.sleep(limit);
            } catch (InterruptedException e) {
                return;
            }
            System.out.println(what + " takes over " + limit + "; threads:\n" + threadDump());
        });
    }

    /** Every live thread's name, state and stack, one frame a line (the benchmarks' stall reports use it too). */
    public static String threadDump() {
        StringBuilder dump = new StringBuilder();
        Thread.getAllStackTraces().forEach((t, stack) -> {
            dump.append('"').append(t.getName()).append("\" ").append(t.getState()).append('\n');
            for (StackTraceElement e : stack) {
                dump.append("    at ").append(e).append('\n');
            }
        });
        return dump.toString();
    }

    /** Stops the watchdog and waits for its thread to end, so thread counts taken next do not see it. */
    @Override
    public void close() {
        thread.interrupt();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
