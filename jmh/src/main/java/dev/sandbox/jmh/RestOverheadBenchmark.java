package dev.sandbox.jmh;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.Sandbox;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.engine.agent.ExecRequest;
import dev.sandbox.engine.agent.ExecResult;
import dev.sandbox.server.SandboxServer;
import dev.sandbox.server.ServerConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The REST layer without a VM: the real {@link SandboxServer} (Helidon, routing, JSON, the Chronicle record store)
 * in-process on a free port over an in-memory engine whose exec answers at once, driven by one shared
 * {@link HttpClient} (HTTP/1.1, keep-alive) on loopback. Each score is one request's full round trip.
 * <p>
 * The access log is turned down to WARN in the fork (one line per request would flood the output), so its cost is
 * not included. Chronicle needs the flags in tools/jvm.args, which the fork inherits from the launching JVM:
 * {@code java @tools/jvm.args -jar jmh/target/benchmarks.jar RestOverheadBenchmark}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 10, time = 2)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Dorg.slf4j.simpleLogger.log.access=warn")
@State(Scope.Benchmark)
public class RestOverheadBenchmark {

    private static final Pattern ID = Pattern.compile("\"id\"\\s*:\\s*\"([^\"]+)\"");

    private Path dir;
    private SandboxServer server;
    private HttpClient client;
    private HttpRequest health;
    private HttpRequest get;
    private HttpRequest exec;

    @Setup
    public void setUp() throws IOException, InterruptedException {
        dir = Files.createTempDirectory("jmh-rest");
        server = SandboxServer.start(ServerConfig.defaults("127.0.0.1", 0, dir.resolve("server")),
                new InstantEngine(dir.resolve("engine")));
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        String base = "http://127.0.0.1:" + server.port();
        HttpResponse<String> created = client.send(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
        Matcher m = ID.matcher(created.body());
        if (created.statusCode() != 201 && created.statusCode() != 200 || !m.find()) {
            throw new IllegalStateException("create failed: " + created.statusCode() + " " + created.body());
        }
        String sandbox = base + "/v1/sandboxes/" + m.group(1);
        health = HttpRequest.newBuilder(URI.create(base + "/health")).GET().build();
        get = HttpRequest.newBuilder(URI.create(sandbox)).GET().build();
        exec = HttpRequest.newBuilder(URI.create(sandbox + "/exec"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"cmd\":\"true\"}")).build();
        for (HttpRequest r : List.of(health, get, exec)) {
            send(r);  // fails here, not mid-measurement, if a route answers anything but 200
        }
    }

    @TearDown
    public void tearDown() throws IOException {
        try {
            if (client != null) {
                client.close();
            }
        } finally {
            if (server != null) {
                server.close();
            }
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> {
                    try {
                        Files.delete(p);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
            }
        }
    }

    private byte[] send(HttpRequest request) throws IOException, InterruptedException {
        HttpResponse<byte[]> res = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
        if (res.statusCode() != 200) {
            throw new IllegalStateException(request.uri() + " answered " + res.statusCode() + ": "
                    + new String(res.body()));
        }
        return res.body();
    }

    /** Routing, one record count, a small JSON body. */
    @Benchmark
    public byte[] health() throws IOException, InterruptedException {
        return send(health);
    }

    /** One record read from the store and written as JSON. */
    @Benchmark
    public byte[] getSandbox() throws IOException, InterruptedException {
        return send(get);
    }

    /** Body parsed and checked, two record reads, two record updates (last_active_at), the exec response. */
    @Benchmark
    public byte[] exec() throws IOException, InterruptedException {
        return send(exec);
    }

    /** An engine without VMs: create registers a sandbox, exec returns a fixed result at once. */
    static final class InstantEngine implements Engine {

        private static final ExecResult DONE = new ExecResult(new byte[0], new byte[0], 0, 0, false, false, false,
                Duration.ZERO);

        private final EngineConfig config;
        private final Map<String, Sandbox> sandboxes = new ConcurrentHashMap<>();

        InstantEngine(Path dir) {
            this.config = EngineConfig.defaults(dir, dir);
        }

        @Override
        public EngineConfig config() {
            return config;
        }

        @Override
        public Sandbox create(SandboxSpec spec) {
            Sandbox sb = new InstantSandbox(spec);
            sandboxes.put(spec.id(), sb);
            return sb;
        }

        @Override
        public Optional<Sandbox> find(String id) {
            return Optional.ofNullable(sandboxes.get(id));
        }

        @Override
        public Collection<Sandbox> sandboxes() {
            return List.copyOf(sandboxes.values());
        }

        @Override
        public void close() {
            List.copyOf(sandboxes.values()).forEach(Sandbox::close);
        }

        private final class InstantSandbox implements Sandbox {
            private final SandboxSpec spec;
            private volatile State state = State.RUNNING;

            InstantSandbox(SandboxSpec spec) {
                this.spec = spec;
            }

            @Override
            public String id() {
                return spec.id();
            }

            @Override
            public SandboxSpec spec() {
                return spec;
            }

            @Override
            public State state() {
                return state;
            }

            @Override
            public ExecResult exec(ExecRequest request) {
                return DONE;
            }

            @Override
            public void writeFile(String path, InputStream content, int mode) {
                throw unsupported();
            }

            @Override
            public long readFile(String path, OutputStream out, long maxBytes) {
                throw unsupported();
            }

            @Override
            public void pause() {
                state = State.PAUSED;
            }

            @Override
            public void resume() {
                state = State.RUNNING;
            }

            @Override
            public String consoleTail() {
                return "";
            }

            @Override
            public void close() {
                state = State.STOPPED;
                sandboxes.remove(spec.id());
            }

            private static EngineException unsupported() {
                return new EngineException(EngineException.Kind.INVALID_STATE, "no files in this benchmark");
            }
        }
    }
}
