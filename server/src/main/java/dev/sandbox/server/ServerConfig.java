package dev.sandbox.server;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where the server listens, where it keeps its state, and its limits. Flags win over environment variables, which
 * win over defaults.
 *
 * @param host             bind address ({@code --host}, {@code SANDBOX_HOST}; default 127.0.0.1)
 * @param port             TCP port ({@code --port}, {@code SANDBOX_PORT}; default 8080, 0 picks a free one)
 * @param dataDir          state and VM files ({@code --data-dir}, {@code SANDBOX_DATA}; default ~/.local/share/sandbox)
 * @param maxFileBytes     largest upload or download ({@code --max-file-bytes}, {@code SANDBOX_MAX_FILE_BYTES};
 *                         default 100 MiB)
 * @param execOutputCap    bytes kept per exec stream, the rest dropped and flagged ({@code --exec-output-cap},
 *                         {@code SANDBOX_EXEC_OUTPUT_CAP}; default 10 MiB)
 * @param maxExecTimeoutSec the largest exec {@code timeout_sec} accepted ({@code --max-exec-timeout},
 *                         {@code SANDBOX_MAX_EXEC_TIMEOUT}; default 3600)
 * @param stoppedRetention how long a stopped or failed record stays visible ({@code --stopped-retention} seconds,
 *                         {@code SANDBOX_STOPPED_RETENTION}; default 600)
 * @param reapInterval     how often the idle reaper looks ({@code --reap-interval} seconds,
 *                         {@code SANDBOX_REAP_INTERVAL}; default 5)
 * @param maxRecords       sandbox records the store is sized for ({@code --max-records}, {@code SANDBOX_MAX_RECORDS};
 *                         default 10000)
 */
public record ServerConfig(String host, int port, Path dataDir, long maxFileBytes, int execOutputCap,
                           int maxExecTimeoutSec, Duration stoppedRetention, Duration reapInterval, long maxRecords) {

    private record Option(String flag, String env, String fallback) {
    }

    private static final Option[] OPTIONS = {
            new Option("--host", "SANDBOX_HOST", "127.0.0.1"),
            new Option("--port", "SANDBOX_PORT", "8080"),
            new Option("--data-dir", "SANDBOX_DATA", System.getProperty("user.home") + "/.local/share/sandbox"),
            new Option("--max-file-bytes", "SANDBOX_MAX_FILE_BYTES", String.valueOf(100L * 1024 * 1024)),
            new Option("--exec-output-cap", "SANDBOX_EXEC_OUTPUT_CAP", String.valueOf(10 * 1024 * 1024)),
            new Option("--max-exec-timeout", "SANDBOX_MAX_EXEC_TIMEOUT", "3600"),
            new Option("--stopped-retention", "SANDBOX_STOPPED_RETENTION", "600"),
            new Option("--reap-interval", "SANDBOX_REAP_INTERVAL", "5"),
            new Option("--max-records", "SANDBOX_MAX_RECORDS", "10000"),
    };

    public ServerConfig {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535, got " + port);
        }
        if (maxFileBytes < 1 || execOutputCap < 1 || maxExecTimeoutSec < 1 || maxRecords < 1) {
            throw new IllegalArgumentException("limits must be positive");
        }
        if (stoppedRetention.isNegative() || reapInterval.isNegative() || reapInterval.isZero()) {
            throw new IllegalArgumentException("stopped retention must be >= 0 and the reap interval > 0");
        }
    }

    /** The defaults, listening on {@code host:port} with state in {@code dataDir}. */
    public static ServerConfig defaults(String host, int port, Path dataDir) {
        ServerConfig d = from(new String[0], Map.of());
        return new ServerConfig(host, port, dataDir, d.maxFileBytes, d.execOutputCap, d.maxExecTimeoutSec,
                d.stoppedRetention, d.reapInterval, d.maxRecords);
    }

    public static ServerConfig from(String[] args, Map<String, String> env) {
        Map<String, String> values = new LinkedHashMap<>();
        for (Option o : OPTIONS) {
            values.put(o.flag, env.getOrDefault(o.env, o.fallback));
        }
        for (int i = 0; i < args.length; i++) {
            if (!values.containsKey(args[i])) {
                throw new IllegalArgumentException("unknown option " + args[i] + " (known: "
                        + String.join(", ", values.keySet()) + ")");
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(args[i] + " needs a value");
            }
            values.put(args[i], args[++i]);
        }
        return new ServerConfig(values.get("--host"), (int) number(values, "--port", 65535),
                Path.of(values.get("--data-dir")), number(values, "--max-file-bytes", Long.MAX_VALUE),
                (int) number(values, "--exec-output-cap", Integer.MAX_VALUE),
                (int) number(values, "--max-exec-timeout", Integer.MAX_VALUE),
                seconds(values, "--stopped-retention"), seconds(values, "--reap-interval"),
                number(values, "--max-records", Integer.MAX_VALUE));
    }

    private static long number(Map<String, String> values, String flag, long max) {
        String v = values.get(flag);
        try {
            long n = Long.parseLong(v.trim());
            if (n < 0 || n > max) {
                throw new IllegalArgumentException(flag + " must be 0.." + max + ", got " + n);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " must be a number, got '" + v + "'");
        }
    }

    /** Seconds, fractions allowed (tests use short intervals). */
    private static Duration seconds(Map<String, String> values, String flag) {
        String v = values.get(flag);
        try {
            BigDecimal s = new BigDecimal(v.trim());
            if (s.signum() < 0) {
                throw new IllegalArgumentException(flag + " must not be negative, got " + v);
            }
            return Duration.ofMillis(s.movePointRight(3).longValueExact());
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException(flag + " must be a number of seconds, got '" + v + "'");
        }
    }

    public ServerConfig withLimits(long maxFileBytes, int execOutputCap) {
        return new ServerConfig(host, port, dataDir, maxFileBytes, execOutputCap, maxExecTimeoutSec,
                stoppedRetention, reapInterval, maxRecords);
    }

    public ServerConfig withTimes(Duration stoppedRetention, Duration reapInterval) {
        return new ServerConfig(host, port, dataDir, maxFileBytes, execOutputCap, maxExecTimeoutSec,
                stoppedRetention, reapInterval, maxRecords);
    }
}
