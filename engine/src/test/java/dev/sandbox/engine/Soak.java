package dev.sandbox.engine;

import dev.sandbox.engine.agent.ExecRequest;
import dev.sandbox.engine.agent.ExecResult;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Random;

/**
 * Sustained traffic into one sandbox: files of 1 MiB written and read back with a byte-for-byte check, an exec every
 * 8 round trips, and (optionally) a pause and resume halfway. Stops at the first failure and says where, with the
 * sandbox's diagnostics (vsock queues, credit, console tail).
 */
final class Soak {
    static final int FILE_BYTES = 1 << 20;
    static final int EXEC_EVERY = 8;
    static final int PROGRESS_EVERY = 64;

    /** How a soak ended: round trips completed, and the failure (null if none) with diagnostics. */
    record Result(String id, int roundTrips, long bytesMoved, long millis, String failure) {
        boolean passed() {
            return failure == null;
        }

        @Override
        public String toString() {
            return "%s: %d round trips, %d MiB moved in %d ms (%.1f MiB/s)%s".formatted(id, roundTrips,
                    bytesMoved >> 20, millis, (bytesMoved / 1048576.0) / Math.max(1, millis) * 1000,
                    failure == null ? ", passed" : ", FAILED: " + failure);
        }
    }

    private Soak() {
    }

    static Result run(Sandbox sb, int roundTrips, boolean pauseHalfway) {
        Random random = new Random(sb.id().hashCode());
        byte[] content = new byte[FILE_BYTES];
        long t0 = System.nanoTime();
        long moved = 0;
        int done = 0;
        String path = "/tmp/soak-" + sb.id();
        try {
            for (int i = 1; i <= roundTrips; i++) {
                random.nextBytes(content);
                sb.writeFile(path, new ByteArrayInputStream(content), 0644);
                ByteArrayOutputStream back = new ByteArrayOutputStream(FILE_BYTES);
                long n = sb.readFile(path, back, FILE_BYTES + 1L);
                if (n != FILE_BYTES || !Arrays.equals(content, back.toByteArray())) {
                    return failed(sb, done, moved, t0, "round trip " + i + ": read back " + n
                            + " bytes that differ from the " + FILE_BYTES + " written");
                }
                moved += 2L * FILE_BYTES;
                if (i % EXEC_EVERY == 0) {
                    ExecResult r = sb.exec(ExecRequest.shell("echo " + i + " $(wc -c < " + path + ")"));
                    if (r.exitCode() != 0 || !r.stdoutText().equals(i + " " + FILE_BYTES + "\n")) {
                        return failed(sb, done, moved, t0, "exec after round trip " + i + " gave " + r.exitCode()
                                + " '" + r.stdoutText() + "' '" + r.stderrText() + "'");
                    }
                }
                if (pauseHalfway && i == roundTrips / 2) {
                    sb.pause();
                    sb.resume();
                }
                done = i;
                if (i % PROGRESS_EVERY == 0) { // also keeps the nested host's stall watch (silence) quiet
                    System.out.printf("soak %s: %d of %d round trips, %d ms%n", sb.id(), i, roundTrips,
                            (System.nanoTime() - t0) / 1_000_000);
                }
            }
            return new Result(sb.id(), done, moved, (System.nanoTime() - t0) / 1_000_000, null);
        } catch (RuntimeException e) {
            return failed(sb, done, moved, t0, "round trip " + (done + 1) + ": " + e);
        }
    }

    private static Result failed(Sandbox sb, int done, long moved, long t0, String what) {
        String diagnostics;
        try {
            diagnostics = sb.diagnostics();
        } catch (RuntimeException e) {
            diagnostics = "no diagnostics: " + e;
        }
        return new Result(sb.id(), done, moved, (System.nanoTime() - t0) / 1_000_000, what + "; state "
                + sb.state() + "\n" + diagnostics);
    }
}
