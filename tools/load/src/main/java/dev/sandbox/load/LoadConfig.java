package dev.sandbox.load;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/**
 * What to run.
 *
 * @param url        the server ({@code --url}, default http://127.0.0.1:8080)
 * @param clients    concurrent clients, each running the scenario in a loop ({@code --clients}, default 4)
 * @param iterations scenario runs per client ({@code --iterations}, default 5)
 * @param execs      execs of {@code true} per scenario ({@code --execs}, default 10)
 * @param fileBytes  size of the file written and read back ({@code --file-kb}, default 64)
 * @param memoryMb   memory of each sandbox ({@code --memory-mb}, default 256)
 * @param pause      whether the scenario pauses and resumes ({@code --no-pause} turns it off)
 * @param out        where histogram logs and the plot go ({@code --out}, default load-results)
 * @param timeout    per request ({@code --timeout-s}, default 120)
 * @param warmup     scenario runs by one client before the timed ones, not counted ({@code --warmup}, default 0):
 *                   the server's first create of a size builds its template, which is not the steady state
 */
public record LoadConfig(URI url, int clients, int iterations, int execs, int fileBytes, int memoryMb, boolean pause,
                         Path out, Duration timeout, int warmup) {

    /** The same load with another number of scenario runs per client. */
    public LoadConfig withIterations(int n) {
        return new LoadConfig(url, clients, n, execs, fileBytes, memoryMb, pause, out, timeout, warmup);
    }

    public static LoadConfig parse(String... args) {
        URI url = URI.create("http://127.0.0.1:8080");
        int clients = 4, iterations = 5, execs = 10, fileKb = 64, memoryMb = 256, timeoutS = 120, warmup = 0;
        boolean pause = true;
        Path out = Path.of("load-results");
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--no-pause")) {
                pause = false;
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(a + " needs a value");
            }
            String v = args[++i];
            switch (a) {
                case "--url" -> url = URI.create(v.endsWith("/") ? v.substring(0, v.length() - 1) : v);
                case "--clients" -> clients = positive(a, v);
                case "--iterations" -> iterations = positive(a, v);
                case "--execs" -> execs = positive(a, v);
                case "--file-kb" -> fileKb = positive(a, v);
                case "--memory-mb" -> memoryMb = positive(a, v);
                case "--timeout-s" -> timeoutS = positive(a, v);
                case "--out" -> out = Path.of(v);
                case "--warmup" -> warmup = atLeast(0, a, v);
                default -> throw new IllegalArgumentException("unknown option " + a + "; known: --url --clients "
                        + "--iterations --execs --file-kb --memory-mb --timeout-s --out --warmup --no-pause");
            }
        }
        return new LoadConfig(url, clients, iterations, execs, fileKb * 1024, memoryMb, pause, out,
                Duration.ofSeconds(timeoutS), warmup);
    }

    private static int positive(String flag, String value) {
        return atLeast(1, flag, value);
    }

    private static int atLeast(int min, String flag, String value) {
        try {
            int n = Integer.parseInt(value);
            if (n >= min) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // fall through to the message
        }
        throw new IllegalArgumentException(flag + " must be a number of at least " + min + ", got '" + value + "'");
    }
}
