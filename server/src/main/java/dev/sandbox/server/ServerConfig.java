package dev.sandbox.server;

import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.templates.RecipeRules;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
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
 * @param drainGrace       how long a pause or destroy waits for the calls in flight to finish before it goes ahead
 *                         (new calls get 409 meanwhile) ({@code --drain-grace} seconds, {@code SANDBOX_DRAIN_GRACE};
 *                         default 10)
 * @param maxExecsPerSandbox execs running at once in one sandbox; one more gets 429 ({@code --max-execs-per-sandbox},
 *                         {@code SANDBOX_MAX_EXECS_PER_SANDBOX}; default 16)
 * @param budget           the host budget for admission control (see {@link Budget})
 * @param access           who may call (see {@link Access})
 * @param network          whether sandboxes get a network ({@code --network on|off}, {@code SANDBOX_NETWORK}; default
 *                         on). Off, for hosts that cannot give them one (no netns, veth or nftables): every sandbox
 *                         is created without, and a create that asks for a network gets 501.
 * @param aptSources       sources.list lines custom template builds install packages from ({@code --apt-source
 *                         LINE}, repeatable; {@code SANDBOX_APT_SOURCES}, lines separated by {@code ;} or newlines);
 *                         default none: the base image's own sources. Each one line starting with {@code deb }.
 * @param warmPool         clones kept restored ahead of time (see {@link WarmPool}); default none
 */
public record ServerConfig(String host, int port, Path dataDir, long maxFileBytes, int execOutputCap,
                           int maxExecTimeoutSec, Duration stoppedRetention, Duration reapInterval, long maxRecords,
                           Duration drainGrace, int maxExecsPerSandbox, Budget budget, Access access,
                           boolean network, List<String> aptSources, WarmPool warmPool) {

    /** Without a warm pool. */
    public ServerConfig(String host, int port, Path dataDir, long maxFileBytes, int execOutputCap,
                        int maxExecTimeoutSec, Duration stoppedRetention, Duration reapInterval, long maxRecords,
                        Duration drainGrace, int maxExecsPerSandbox, Budget budget, Access access, boolean network,
                        List<String> aptSources) {
        this(host, port, dataDir, maxFileBytes, execOutputCap, maxExecTimeoutSec, stoppedRetention, reapInterval,
                maxRecords, drainGrace, maxExecsPerSandbox, budget, access, network, aptSources, WarmPool.NONE);
    }

    /**
     * Warm pool shapes ({@code --warm-pool TEMPLATE:VCPUS:MEMORY_MB=COUNT[,...]}, {@code SANDBOX_WARM_POOL}; default
     * none): creates of exactly that template, vCPU count and memory (and the server's default network, no disk
     * size) get a clone restored ahead of time. Pool clones count against the host budget like sandboxes. Clones
     * idle longer than {@code idle} are released until the next create of their shape ({@code --warm-pool-idle}
     * seconds, {@code SANDBOX_WARM_POOL_IDLE}; default 600). Initramfs templates only (e.g. {@code minimal}).
     */
    public record WarmPool(List<Entry> entries, Duration idle) {
        public static final WarmPool NONE = new WarmPool(List.of(), Duration.ofMinutes(10));

        public record Entry(String template, int vcpus, int memoryMb, int size) {
        }

        public WarmPool {
            entries = List.copyOf(entries);
            if (idle.isNegative() || idle.isZero()) {
                throw new IllegalArgumentException("--warm-pool-idle must be at least 1 second");
            }
        }

        static WarmPool parse(String text, Duration idle) {
            List<Entry> entries = new ArrayList<>();
            for (String item : text.split(",")) {
                String t = item.strip();
                if (t.isEmpty()) {
                    continue;
                }
                java.util.regex.Matcher m = java.util.regex.Pattern
                        .compile("([A-Za-z0-9][A-Za-z0-9._-]*):(\\d{1,3}):(\\d{1,7})=(\\d{1,3})").matcher(t);
                if (!m.matches()) {
                    throw new IllegalArgumentException("--warm-pool: '" + t + "' is not TEMPLATE:VCPUS:MEMORY_MB=COUNT");
                }
                Entry e = new Entry(m.group(1), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
                        Integer.parseInt(m.group(4)));
                if (e.vcpus() < 1 || e.memoryMb() < 1) {
                    throw new IllegalArgumentException("--warm-pool: '" + t + "' needs at least 1 vCPU and 1 MiB");
                }
                entries.add(e);
            }
            return new WarmPool(entries, idle);
        }
    }

    /** Without apt sources of its own (template builds use the base image's). */
    public ServerConfig(String host, int port, Path dataDir, long maxFileBytes, int execOutputCap,
                        int maxExecTimeoutSec, Duration stoppedRetention, Duration reapInterval, long maxRecords,
                        Duration drainGrace, int maxExecsPerSandbox, Budget budget, Access access, boolean network) {
        this(host, port, dataDir, maxFileBytes, execOutputCap, maxExecTimeoutSec, stoppedRetention, reapInterval,
                maxRecords, drainGrace, maxExecsPerSandbox, budget, access, network, List.of());
    }

    /**
     * What the host lends to running sandboxes; a create or resume beyond it gets 503 with {@code Retry-After}.
     * Paused sandboxes hold only disk.
     *
     * @param hostMemoryMb     host RAM in MiB ({@code --host-memory-mb}, {@code SANDBOX_HOST_MEMORY_MB}; 0: measured)
     * @param memoryOvercommit sum of running {@code memory_mb} allowed per MiB of host RAM ({@code --memory-overcommit},
     *                         {@code SANDBOX_MEMORY_OVERCOMMIT}; default 1.0: guests touch their RAM lazily, so more
     *                         is possible, at the risk of the host's OOM killer)
     * @param maxVcpus         sum of running vCPUs ({@code --max-vcpus}, {@code SANDBOX_MAX_VCPUS}; 0: 4 per host core)
     * @param maxSandboxes     sandboxes running or starting at once ({@code --max-sandboxes},
     *                         {@code SANDBOX_MAX_SANDBOXES}; default 256)
     * @param minFreeDiskMb    free space the data dir must keep for snapshots ({@code --min-free-disk-mb},
     *                         {@code SANDBOX_MIN_FREE_DISK_MB}; default 256)
     * @param retryAfterSec    the {@code Retry-After} a refusal carries ({@code --retry-after},
     *                         {@code SANDBOX_RETRY_AFTER}; default 5)
     */
    public record Budget(long hostMemoryMb, double memoryOvercommit, int maxVcpus, int maxSandboxes,
                         long minFreeDiskMb, int retryAfterSec) {
        public Budget {
            if (hostMemoryMb < 0 || memoryOvercommit <= 0 || maxVcpus < 0 || maxSandboxes < 1 || minFreeDiskMb < 0
                    || retryAfterSec < 1) {
                throw new IllegalArgumentException("the host budget needs positive values");
            }
        }

        /** No limits worth speaking of: for tests that are about something else. */
        static Budget unlimited() {
            return new Budget(1L << 40, 1.0, Integer.MAX_VALUE, Integer.MAX_VALUE, 0, 1);
        }
    }

    /**
     * @param apiKeysFile           a file with one API key a line ({@code --api-keys-file},
     *                              {@code SANDBOX_API_KEYS_FILE}); keys also come from {@code SANDBOX_API_KEYS}
     *                              (comma-separated). With any key, every call but {@code /health} and the
     *                              OpenAPI documents needs {@code X-API-Key}.
     * @param envKeys               the keys from {@code SANDBOX_API_KEYS}, as given
     * @param allowUnauthenticated  listen on a non-loopback address without keys
     *                              ({@code --allow-unauthenticated true}, {@code SANDBOX_ALLOW_UNAUTHENTICATED};
     *                              default false: such a start is refused)
     */
    public record Access(Path apiKeysFile, String envKeys, boolean allowUnauthenticated) {
        static Access open() {
            return new Access(null, "", false);
        }
    }

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
            new Option("--drain-grace", "SANDBOX_DRAIN_GRACE", "10"),
            new Option("--max-execs-per-sandbox", "SANDBOX_MAX_EXECS_PER_SANDBOX", "16"),
            new Option("--host-memory-mb", "SANDBOX_HOST_MEMORY_MB", "0"),
            new Option("--memory-overcommit", "SANDBOX_MEMORY_OVERCOMMIT", "1.0"),
            new Option("--max-vcpus", "SANDBOX_MAX_VCPUS", "0"),
            new Option("--max-sandboxes", "SANDBOX_MAX_SANDBOXES", "256"),
            new Option("--min-free-disk-mb", "SANDBOX_MIN_FREE_DISK_MB", "256"),
            new Option("--retry-after", "SANDBOX_RETRY_AFTER", "5"),
            new Option("--api-keys-file", "SANDBOX_API_KEYS_FILE", ""),
            new Option("--allow-unauthenticated", "SANDBOX_ALLOW_UNAUTHENTICATED", "false"),
            new Option("--network", "SANDBOX_NETWORK", "on"),
            new Option("--warm-pool", "SANDBOX_WARM_POOL", ""),
            new Option("--warm-pool-idle", "SANDBOX_WARM_POOL_IDLE", "600"),
    };

    /** Repeatable: every {@code --apt-source} adds a line (and together they replace the environment's). */
    static final String APT_SOURCE_FLAG = "--apt-source";
    static final String APT_SOURCES_ENV = "SANDBOX_APT_SOURCES";

    public ServerConfig {
        aptSources = List.copyOf(aptSources);
        try {
            RecipeRules.checkAptSources(aptSources);
        } catch (EngineException e) {
            throw new IllegalArgumentException(APT_SOURCE_FLAG + ": " + e.getMessage());
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535, got " + port);
        }
        if (maxFileBytes < 1 || execOutputCap < 1 || maxExecTimeoutSec < 1 || maxRecords < 1
                || maxExecsPerSandbox < 1) {
            throw new IllegalArgumentException("limits must be positive");
        }
        if (stoppedRetention.isNegative() || reapInterval.isNegative() || reapInterval.isZero()
                || drainGrace.isNegative()) {
            throw new IllegalArgumentException("stopped retention and drain grace must be >= 0 and the reap"
                    + " interval > 0");
        }
    }

    /** The defaults, listening on {@code host:port} with state in {@code dataDir}. */
    public static ServerConfig defaults(String host, int port, Path dataDir) {
        ServerConfig d = from(new String[0], Map.of());
        return new ServerConfig(host, port, dataDir, d.maxFileBytes, d.execOutputCap, d.maxExecTimeoutSec,
                d.stoppedRetention, d.reapInterval, d.maxRecords, d.drainGrace, d.maxExecsPerSandbox, d.budget,
                d.access, d.network, d.aptSources, d.warmPool);
    }

    public static ServerConfig from(String[] args, Map<String, String> env) {
        Map<String, String> values = new LinkedHashMap<>();
        for (Option o : OPTIONS) {
            values.put(o.flag, env.getOrDefault(o.env, o.fallback));
        }
        List<String> aptFlags = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals(APT_SOURCE_FLAG) && i + 1 < args.length) {
                aptFlags.add(args[++i]);
                continue;
            }
            if (!values.containsKey(args[i]) && !args[i].equals(APT_SOURCE_FLAG)) {
                throw new IllegalArgumentException("unknown option " + args[i] + " (known: "
                        + String.join(", ", values.keySet()) + ", " + APT_SOURCE_FLAG + ")");
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(args[i] + " needs a value");
            }
            values.put(args[i], args[++i]);
        }
        Budget budget = new Budget(number(values, "--host-memory-mb", Long.MAX_VALUE / 2),
                decimal(values, "--memory-overcommit"), (int) number(values, "--max-vcpus", Integer.MAX_VALUE),
                (int) number(values, "--max-sandboxes", Integer.MAX_VALUE),
                number(values, "--min-free-disk-mb", Long.MAX_VALUE / 2),
                (int) number(values, "--retry-after", 3600));
        String keysFile = values.get("--api-keys-file").trim();
        Access access = new Access(keysFile.isEmpty() ? null : Path.of(keysFile),
                env.getOrDefault("SANDBOX_API_KEYS", ""), bool(values, "--allow-unauthenticated"));
        return new ServerConfig(values.get("--host"), (int) number(values, "--port", 65535),
                Path.of(values.get("--data-dir")), number(values, "--max-file-bytes", Long.MAX_VALUE),
                (int) number(values, "--exec-output-cap", Integer.MAX_VALUE),
                (int) number(values, "--max-exec-timeout", Integer.MAX_VALUE),
                seconds(values, "--stopped-retention"), seconds(values, "--reap-interval"),
                number(values, "--max-records", Integer.MAX_VALUE), seconds(values, "--drain-grace"),
                (int) number(values, "--max-execs-per-sandbox", Integer.MAX_VALUE), budget, access,
                onOff(values, "--network"), aptFlags.isEmpty() ? aptLines(env.getOrDefault(APT_SOURCES_ENV, ""))
                        : aptFlags, WarmPool.parse(values.get("--warm-pool"), seconds(values, "--warm-pool-idle")));
    }

    /** {@code SANDBOX_APT_SOURCES}: lines separated by ';' or newlines, blank ones skipped. */
    static List<String> aptLines(String text) {
        return Arrays.stream(text.split("[;\n]")).map(String::strip).filter(l -> !l.isEmpty()).toList();
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

    private static double decimal(Map<String, String> values, String flag) {
        String v = values.get(flag);
        try {
            double d = Double.parseDouble(v.trim());
            if (!(d > 0) || Double.isInfinite(d)) {
                throw new IllegalArgumentException(flag + " must be a positive number, got " + v);
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " must be a number, got '" + v + "'");
        }
    }

    private static boolean bool(Map<String, String> values, String flag) {
        return switch (values.get(flag).trim()) {
            case "true", "yes", "1" -> true;
            case "false", "no", "0", "" -> false;
            default -> throw new IllegalArgumentException(flag + " must be true or false, got '"
                    + values.get(flag) + "'");
        };
    }

    private static boolean onOff(Map<String, String> values, String flag) {
        return switch (values.get(flag).trim()) {
            case "on", "true", "yes", "1" -> true;
            case "off", "false", "no", "0" -> false;
            default -> throw new IllegalArgumentException(flag + " must be on or off, got '" + values.get(flag) + "'");
        };
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
                stoppedRetention, reapInterval, maxRecords, drainGrace, maxExecsPerSandbox, budget, access,
                network, aptSources, warmPool);
    }

    public ServerConfig withTimes(Duration stoppedRetention, Duration reapInterval) {
        return new ServerConfig(host, port, dataDir, maxFileBytes, execOutputCap, maxExecTimeoutSec,
                stoppedRetention, reapInterval, maxRecords, drainGrace, maxExecsPerSandbox, budget, access,
                network, aptSources, warmPool);
    }

    public ServerConfig withDrainGrace(Duration drainGrace, int maxExecsPerSandbox) {
        return new ServerConfig(host, port, dataDir, maxFileBytes, execOutputCap, maxExecTimeoutSec,
                stoppedRetention, reapInterval, maxRecords, drainGrace, maxExecsPerSandbox, budget, access,
                network, aptSources, warmPool);
    }

    public ServerConfig withWarmPool(WarmPool warmPool) {
        return new ServerConfig(host, port, dataDir, maxFileBytes, execOutputCap, maxExecTimeoutSec,
                stoppedRetention, reapInterval, maxRecords, drainGrace, maxExecsPerSandbox, budget, access,
                network, aptSources, warmPool);
    }

    public ServerConfig withBudget(Budget budget) {
        return new ServerConfig(host, port, dataDir, maxFileBytes, execOutputCap, maxExecTimeoutSec,
                stoppedRetention, reapInterval, maxRecords, drainGrace, maxExecsPerSandbox, budget, access,
                network, aptSources, warmPool);
    }

    public ServerConfig withAptSources(List<String> aptSources) {
        return new ServerConfig(host, port, dataDir, maxFileBytes, execOutputCap, maxExecTimeoutSec,
                stoppedRetention, reapInterval, maxRecords, drainGrace, maxExecsPerSandbox, budget, access,
                network, aptSources, warmPool);
    }

    public ServerConfig withNetwork(boolean network) {
        return new ServerConfig(host, port, dataDir, maxFileBytes, execOutputCap, maxExecTimeoutSec,
                stoppedRetention, reapInterval, maxRecords, drainGrace, maxExecsPerSandbox, budget, access,
                network, aptSources, warmPool);
    }

    public ServerConfig withAccess(String host, Access access) {
        return new ServerConfig(host, port, dataDir, maxFileBytes, execOutputCap, maxExecTimeoutSec,
                stoppedRetention, reapInterval, maxRecords, drainGrace, maxExecsPerSandbox, budget, access,
                network, aptSources, warmPool);
    }
}
