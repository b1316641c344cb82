package dev.sandbox.load;

import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;

/** One client's loop: create, exec k times, write and read a file, pause, resume, destroy; timed per step. */
public final class Scenario implements Runnable {

    private static final int KEPT_ERRORS = 10;

    /** A step that talks to the server; its exceptions count as that step's failure. */
    private interface Step {
        void run() throws Exception;
    }

    private final ApiClient api;
    private final LoadConfig config;
    private final Stats stats;
    private final Queue<String> errors;
    private final byte[] content;

    public Scenario(ApiClient api, LoadConfig config, Stats stats, Queue<String> errors, long seed) {
        this.api = api;
        this.config = config;
        this.stats = stats;
        this.errors = errors;
        this.content = new byte[config.fileBytes()];
        new Random(seed).nextBytes(content);
    }

    public static Queue<String> errorQueue() {
        return new ConcurrentLinkedQueue<>();
    }

    @Override
    public void run() {
        for (int i = 0; i < config.iterations() && !Thread.currentThread().isInterrupted(); i++) {
            String[] id = new String[1];
            if (!timed(Operation.CREATE, () -> id[0] = api.create(config.memoryMb()))) {
                continue;
            }
            try {
                for (int k = 0; k < config.execs(); k++) {
                    timed(Operation.EXEC, () -> api.exec(id[0], "true"));
                }
                String path = "/tmp/load-" + i + ".bin";
                if (timed(Operation.WRITE_FILE, () -> api.writeFile(id[0], path, content))) {
                    timed(Operation.READ_FILE, () -> api.readFile(id[0], path, content));
                }
                if (config.pause() && timed(Operation.PAUSE, () -> api.pause(id[0]))) {
                    timed(Operation.RESUME, () -> api.resume(id[0]));
                }
            } finally {
                timed(Operation.DESTROY, () -> api.destroy(id[0]));
            }
        }
    }

    private boolean timed(Operation op, Step step) {
        long start = System.nanoTime();
        try {
            step.run();
            stats.record(op, System.nanoTime() - start);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stats.fail(op);
            return false;
        } catch (Exception e) {
            stats.fail(op);
            if (errors.size() < KEPT_ERRORS) {
                errors.add(op.label() + ": " + e.getMessage());
            }
            return false;
        }
    }
}
