package dev.sandbox.jmh;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.Sandbox;
import dev.sandbox.engine.agent.ExecRequest;
import dev.sandbox.engine.agent.ExecResult;
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

import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Calls into one running sandbox (a template clone, or with {@code clone=false} a cold-booted VM; with
 * {@code pauseFirst=true} paused and resumed once first) through the engine API: exec of {@code true} (sampled,
 * so JMH prints p50/p90/p99), and a file of {@code fileKb} KiB written and read back over vsock; throughput in
 * MiB/s is {@code fileKb / 1024} divided by the time per operation.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
public class KvmSandboxBenchmark {

    private static final String FILE = "/tmp/jmh-file.bin";

    @State(Scope.Benchmark)
    public static class Running {
        @Param("1024")
        public int fileKb;

        /** Whether the sandbox is a template clone (what the server makes) or a cold-booted VM. */
        @Param("true")
        public boolean clone;

        /** Whether the sandbox goes through one pause and resume before the measurement (a restore of its own). */
        @Param("false")
        public boolean pauseFirst;

        Engine engine;
        Sandbox sandbox;
        byte[] content;
        StallWatch watch;

        @Setup
        public void start() {
            engine = KvmBench.open(clone);
            if (clone) {
                KvmBench.create(engine, 256).close(); // the template
            }
            sandbox = KvmBench.create(engine, 256);
            if (pauseFirst) {
                sandbox.pause();
                sandbox.resume();
            }
            content = new byte[fileKb * 1024];
            new Random(1).nextBytes(content);
            sandbox.writeFile(FILE, new ByteArrayInputStream(content), 0644);
            watch = new StallWatch("KvmSandboxBenchmark", () -> sandbox);
        }

        @TearDown
        public void stop() {
            watch.close();
            sandbox.close();
            engine.close();
        }
    }

    @Benchmark
    public ExecResult execTrue(Running r) {
        r.watch.progress();
        return KvmBench.check(r.sandbox.exec(ExecRequest.of("true")));
    }

    @Benchmark
    public void writeFile(Running r) {
        r.watch.progress();
        try {
            r.sandbox.writeFile(FILE, new ByteArrayInputStream(r.content), 0644);
        } catch (RuntimeException e) {
            r.watch.failed(e);
            throw e;
        }
    }

    @Benchmark
    public long readFile(Running r) {
        r.watch.progress();
        long n = r.sandbox.readFile(FILE, OutputStream.nullOutputStream(), Long.MAX_VALUE);
        if (n != r.content.length) {
            throw new IllegalStateException("read " + n + " bytes, wrote " + r.content.length);
        }
        return n;
    }
}
