package dev.sandbox.engine.net;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;

/**
 * {@link Commands} as child processes with a timeout. stdout and stderr are read on virtual threads while the
 * process runs (a full pipe would block it), so a process that hangs is killed at the deadline whatever it wrote.
 */
final class ProcessCommands implements Commands {
    /** Enough of stderr to explain a failure; a runaway tool cannot fill the heap. */
    private static final int MAX_OUTPUT = 1 << 20;

    private final Duration timeout;

    ProcessCommands(Duration timeout) {
        this.timeout = timeout;
    }

    @Override
    public String run(List<String> argv, String stdin) {
        String shown = String.join(" ", argv);
        Process process;
        try {
            process = new ProcessBuilder(argv).start();
        } catch (IOException e) {
            throw new NetworkException("cannot run " + shown + ": " + e.getMessage()
                    + " (are iproute2 and nftables installed?)", e);
        }
        try {
            FutureTask<String> out = drain(process.getInputStream());
            FutureTask<String> err = drain(process.getErrorStream());
            writeStdin(process, stdin);
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new NetworkException(shown + " did not finish in " + timeout + "; killed");
            }
            String stderr = err.get().strip();
            if (process.exitValue() != 0) {
                throw new NetworkException(shown + " failed (exit " + process.exitValue() + ")"
                        + (stderr.isEmpty() ? "" : ": " + stderr));
            }
            return out.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NetworkException(shown + " interrupted", e);
        } catch (ExecutionException e) {
            throw new NetworkException(shown + ": reading its output failed: " + e.getCause(), e.getCause());
        } finally {
            // Kills it on every early exit; a no-op once it has ended. The pipes close with it, ending the readers.
            process.destroyForcibly();
        }
    }

    private static void writeStdin(Process process, String stdin) {
        try (OutputStream in = process.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            // It exited without reading all of it: its exit status and stderr tell why.
        }
    }

    private static FutureTask<String> drain(InputStream stream) {
        FutureTask<String> task = new FutureTask<>(() -> {
            try (stream) {
                byte[] bytes = stream.readNBytes(MAX_OUTPUT);
                stream.transferTo(OutputStream.nullOutputStream());
                return new String(bytes, StandardCharsets.UTF_8);
            }
        });
        Thread.ofVirtual().name("net-command-output").start(task);
        return task;
    }
}
