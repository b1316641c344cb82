package dev.sandbox.server;

import java.util.Comparator;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Pattern;

/**
 * The server's counters, and their Prometheus text exposition (format 0.0.4). Lock-free on the request path
 * (adders); labels come from closed sets (route templates, not paths), so their number stays bounded.
 */
final class Metrics {

    /** Request latency buckets in seconds: API calls take milliseconds, boots and transfers seconds, streams more. */
    static final double[] BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
        60, 300};

    private static final Pattern ID = Pattern.compile("[^/]+");
    private static final Map<Pattern, String> ROUTES = routes();

    record RequestKey(String method, String route, String statusClass) {
    }

    record ExecKey(String endpoint, String result) {
    }

    /** Snapshot size buckets in bytes: 1 MiB to 16 GiB by fours (a clone's delta is small, a cold VM's base large). */
    static final double[] SNAPSHOT_BUCKETS = {1L << 20, 4L << 20, 16L << 20, 64L << 20, 256L << 20, 1L << 30,
        4L << 30, 16L << 30};

    /** A fixed-bucket histogram; bucket i counts observations up to bounds[i] (not cumulative until rendered). */
    private static final class Histogram {
        final double[] bounds;
        final LongAdder[] buckets;
        final LongAdder count = new LongAdder();
        final DoubleAdder sum = new DoubleAdder();

        Histogram(double[] bounds) {
            this.bounds = bounds;
            this.buckets = new LongAdder[bounds.length];
            for (int i = 0; i < buckets.length; i++) {
                buckets[i] = new LongAdder();
            }
        }

        void observe(double value) {
            for (int i = 0; i < bounds.length; i++) {
                if (value <= bounds[i]) {
                    buckets[i].increment();
                    break;
                }
            }
            count.increment();
            sum.add(value);
        }

        /** The _bucket, _sum and _count lines of one series; {@code labels} without braces. */
        void render(StringBuilder out, String name, String labels) {
            String sep = labels.isEmpty() ? "" : ",";
            long cumulative = 0;
            for (int i = 0; i < bounds.length; i++) {
                cumulative += buckets[i].sum();
                out.append(name).append("_bucket{").append(labels).append(sep).append("le=\"")
                        .append(number(bounds[i])).append("\"} ").append(cumulative).append('\n');
            }
            long n = count.sum();
            out.append(name).append("_bucket{").append(labels).append(sep).append("le=\"+Inf\"} ").append(n)
                    .append('\n');
            out.append(name).append("_sum").append(labels.isEmpty() ? "" : "{" + labels + "}").append(' ')
                    .append(number(sum.sum())).append('\n');
            out.append(name).append("_count").append(labels.isEmpty() ? "" : "{" + labels + "}").append(' ')
                    .append(n).append('\n');
        }
    }

    private final Map<RequestKey, Histogram> requests = new ConcurrentHashMap<>();
    private final Map<ExecKey, LongAdder> execs = new ConcurrentHashMap<>();
    private final LongAdder uploadBytes = new LongAdder();
    private final LongAdder downloadBytes = new LongAdder();
    private final Histogram snapshots = new Histogram(SNAPSHOT_BUCKETS);

    void request(String method, String path, int status, long nanos) {
        RequestKey key = new RequestKey(method(method), route(path), status / 100 + "xx");
        requests.computeIfAbsent(key, k -> new Histogram(BUCKETS)).observe(nanos / 1e9);
    }

    /** {@code endpoint} exec or exec_stream; {@code result} exited, timed_out or error. */
    void exec(String endpoint, String result) {
        execs.computeIfAbsent(new ExecKey(endpoint, result), k -> new LongAdder()).increment();
    }

    void uploaded(long bytes) {
        uploadBytes.add(bytes);
    }

    void downloaded(long bytes) {
        downloadBytes.add(bytes);
    }

    /** What a pause wrote to disk. */
    void snapshot(long bytes) {
        snapshots.observe(bytes);
    }

    /** The route template a path matches ({@code /v1/sandboxes/{id}/exec}), or "unmatched". */
    static String route(String path) {
        for (Map.Entry<Pattern, String> r : ROUTES.entrySet()) {
            if (r.getKey().matcher(path).matches()) {
                return r.getValue();
            }
        }
        return "unmatched";
    }

    private static String method(String m) {
        return switch (m) {
            case "GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS" -> m;
            default -> "other";
        };
    }

    /** Everything, as Prometheus text; {@code sandboxes} counts records by status. */
    String render(Map<SandboxRecord.Status, Integer> sandboxes, Map<String, Long> vmExits) {
        StringBuilder out = new StringBuilder(4096);
        head(out, "sandbox_sandboxes", "gauge", "Sandbox records by status");
        for (SandboxRecord.Status s : SandboxRecord.Status.values()) {
            out.append("sandbox_sandboxes{state=\"").append(s.wire()).append("\"} ")
                    .append(sandboxes.getOrDefault(s, 0)).append('\n');
        }

        var keys = requests.keySet().stream().sorted(Comparator.comparing(RequestKey::route)
                .thenComparing(RequestKey::method).thenComparing(RequestKey::statusClass)).toList();
        head(out, "sandbox_http_requests_total", "counter",
                "HTTP requests by method, route template and status class");
        for (RequestKey k : keys) {
            out.append("sandbox_http_requests_total{").append(labels(k)).append("} ")
                    .append(requests.get(k).count.sum()).append('\n');
        }
        head(out, "sandbox_http_request_duration_seconds", "histogram",
                "HTTP request latency (to the end of the response body) by method, route template and status class");
        for (RequestKey k : keys) {
            requests.get(k).render(out, "sandbox_http_request_duration_seconds", labels(k));
        }

        head(out, "sandbox_file_bytes_total", "counter", "Bytes moved by file uploads and downloads");
        out.append("sandbox_file_bytes_total{direction=\"upload\"} ").append(uploadBytes.sum()).append('\n');
        out.append("sandbox_file_bytes_total{direction=\"download\"} ").append(downloadBytes.sum()).append('\n');

        head(out, "sandbox_execs_total", "counter",
                "Execs by endpoint (exec, exec_stream) and result (exited, timed_out, error)");
        execs.entrySet().stream()
                .sorted(Comparator.comparing((Map.Entry<ExecKey, LongAdder> e) -> e.getKey().endpoint())
                        .thenComparing(e -> e.getKey().result()))
                .forEach(e -> out.append("sandbox_execs_total{endpoint=\"").append(e.getKey().endpoint())
                        .append("\",result=\"").append(e.getKey().result()).append("\"} ")
                        .append(e.getValue().sum()).append('\n'));
        head(out, "sandbox_snapshot_bytes", "histogram",
                "Bytes each pause wrote (VM state plus guest memory data; a restored VM writes only what it changed)");
        snapshots.render(out, "sandbox_snapshot_bytes", "");
        if (!vmExits.isEmpty()) {
            head(out, "sandbox_vm_exits_total", "counter",
                    "VM exits of every vCPU since the server started, by kind (io, mmio, hlt, intr: a kick, other)");
            vmExits.entrySet().stream().sorted(Map.Entry.comparingByKey())
                    .forEach(e -> out.append("sandbox_vm_exits_total{kind=\"").append(e.getKey()).append("\"} ")
                            .append(e.getValue()).append('\n'));
        }
        return out.toString();
    }

    private static void head(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static String labels(RequestKey k) {
        return "method=\"" + k.method() + "\",route=\"" + k.route() + "\",status_class=\"" + k.statusClass() + "\"";
    }

    private static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf((long) v) : String.format(Locale.ROOT, "%s", v);
    }

    private static Map<Pattern, String> routes() {
        Map<Pattern, String> m = new java.util.LinkedHashMap<>();
        for (String route : new String[] {"/health", "/metrics", "/openapi.yaml", "/openapi-extensions.yaml",
            "/v1/sandboxes", "/v1/sandboxes/{id}", "/v1/sandboxes/{id}/exec", "/v1/sandboxes/{id}/exec/stream",
            "/v1/sandboxes/{id}/pause", "/v1/sandboxes/{id}/resume", "/v1/sandboxes/{id}/files/write",
            "/v1/sandboxes/{id}/files/read", "/v1/templates", "/v1/templates/{name}"}) {
            String regex = Pattern.quote(route).replace("{id}", "\\E" + ID.pattern() + "\\Q")
                    .replace("{name}", "\\E" + ID.pattern() + "\\Q");
            m.put(Pattern.compile(regex + "/?"), route);
        }
        // the proxied path is the sandbox's business: one route for all of it
        m.put(Pattern.compile("/v1/sandboxes/" + ID.pattern() + "/ports/" + ID.pattern() + "(/.*)?"),
                "/v1/sandboxes/{id}/ports/{port}/{path}");
        return m;
    }
}
