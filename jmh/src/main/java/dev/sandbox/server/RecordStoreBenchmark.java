package dev.sandbox.server;

import dev.sandbox.engine.NetworkSpec;
import dev.sandbox.server.SandboxRecord.Status;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The server's {@link RecordStore} (a persisted Chronicle Map of JSON {@link SandboxRecord}s) holding
 * {@code records} records, sized as the server sizes it (10 000 entries by default). Every operation includes its
 * JSON work; {@code jsonWrite}/{@code jsonRead} show that part alone.
 * <p>
 * In package {@code dev.sandbox.server} because the store, the record and {@link Json} are package-private.
 * Chronicle needs the flags in tools/jvm.args; the forked JVM inherits them from the launching one:
 * {@code java @tools/jvm.args -jar jmh/target/benchmarks.jar RecordStoreBenchmark}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 10, time = 2)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class RecordStoreBenchmark {

    /** The server's default --max-records. */
    private static final long MAX_ENTRIES = 10_000;

    @Param("1000")
    public int records;

    private Path dir;
    private Json json;
    private RecordStore store;
    private String[] ids;
    private SandboxRecord sample;
    private byte[] sampleBytes;
    private String[] freshIds;
    private int next;
    private int fresh;
    private final Instant now = Instant.parse("2026-01-01T00:00:00Z");
    private final UnaryOperator<SandboxRecord> toPaused = r -> r.withStatus(Status.PAUSED, now, null);
    private final UnaryOperator<SandboxRecord> toRunning = r -> r.withStatus(Status.RUNNING, now, null);
    private final UnaryOperator<SandboxRecord> toTouched = r -> r.touched(now);
    private boolean flip;

    @Setup
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("jmh-recordstore");
        json = new Json();
        store = RecordStore.open(dir, MAX_ENTRIES, json);
        ids = new String[records];
        Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
        for (int i = 0; i < records; i++) {
            ids[i] = "sb-%08x".formatted(i * 2654435761L & 0xffffffffL);
            if (!store.insert(record(ids[i], t0.plusMillis(i)))) {
                throw new IllegalStateException("duplicate id " + ids[i]);
            }
        }
        freshIds = new String[1024];
        for (int i = 0; i < freshIds.length; i++) {
            freshIds[i] = "sb-n%07x".formatted(i);  // same length as the ids above, never one of them (n)
        }
        sample = record("sb-0badf00d", t0);
        sampleBytes = json.write(sample);
    }

    /** What a running sandbox's record looks like: every timestamp set, the default network, no message. */
    private static SandboxRecord record(String id, Instant created) {
        Instant started = created.plusMillis(120);
        return new SandboxRecord(id, Status.RUNNING, "minimal", 1, 512, 300, "169.254.0.21", "10.200.0.2", created,
                started, started, started, null, NetworkPolicy.of(NetworkSpec.DEFAULT), null);
    }

    private String nextId() {
        String id = ids[next];
        next = next + 1 == ids.length ? 0 : next + 1;
        return id;
    }

    @TearDown
    public void tearDown() throws IOException {
        store.close();
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

    /** One record by id: a Chronicle lookup and a JSON read. */
    @Benchmark
    public Optional<SandboxRecord> get() {
        return store.get(nextId());
    }

    /** A status change (what pause/resume/reaper do): get, withStatus, JSON write, put, under the id's stripe. */
    @Benchmark
    public Optional<SandboxRecord> updateStatus() {
        flip = !flip;
        return store.update(nextId(), flip ? toPaused : toRunning);
    }

    /** What every exec does twice: last_active_at moved, the record's size unchanged. */
    @Benchmark
    public Optional<SandboxRecord> updateTouch() {
        return store.update(nextId(), toTouched);
    }

    /**
     * A new record (putIfAbsent) and its removal, so the map keeps {@code records} entries however many
     * invocations run; insert alone is this minus a remove.
     */
    @Benchmark
    public boolean insertThenRemove() {
        String id = freshIds[fresh];
        fresh = fresh + 1 == freshIds.length ? 0 : fresh + 1;
        boolean added = store.insert(record(id, now));
        store.remove(id);
        return added;
    }

    /** Every record, deserialised and sorted: GET /v1/sandboxes and every reaper pass. */
    @Benchmark
    public List<SandboxRecord> all() {
        return store.all();
    }

    /** The JSON part alone: one record to bytes. */
    @Benchmark
    public byte[] jsonWrite() {
        return json.write(sample);
    }

    /** The JSON part alone: bytes to one record. */
    @Benchmark
    public SandboxRecord jsonRead() {
        return json.read(sampleBytes, SandboxRecord.class);
    }
}
