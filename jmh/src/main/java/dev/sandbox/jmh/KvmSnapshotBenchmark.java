package dev.sandbox.jmh;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.Sandbox;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Pause and resume of one sandbox (a template clone) of {@code memoryMb} MiB whose guest dirtied {@code touchedMb}
 * MiB since it last came back: every pause writes a delta of about that size, every resume maps the snapshot back
 * and reconnects the agent. One pause or resume per measured invocation; the other half of the cycle and the
 * dirtying run outside the timing.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 2)
@Measurement(iterations = 10)
public class KvmSnapshotBenchmark {

    @State(Scope.Benchmark)
    public static class Cycle {
        @Param("512")
        public int memoryMb;

        @Param("64")
        public int touchedMb;

        Engine engine;
        Sandbox sandbox;
        StallWatch watch;

        @Setup(Level.Trial)
        public void start() {
            engine = KvmBench.open(true);
            KvmBench.create(engine, memoryMb).close(); // the template
            sandbox = KvmBench.create(engine, memoryMb);
            watch = new StallWatch("KvmSnapshotBenchmark", () -> sandbox);
        }

        /** Running, with {@code touchedMb} freshly dirtied. */
        void readyToPause() {
            watch.progress();
            if (sandbox.state() == Sandbox.State.PAUSED) {
                sandbox.resume();
            }
            KvmBench.dirty(sandbox, touchedMb);
        }

        void readyToResume() {
            if (sandbox.state() == Sandbox.State.RUNNING) {
                readyToPause();
                sandbox.pause();
            }
        }

        @TearDown(Level.Trial)
        public void stop() {
            watch.close();
            sandbox.close();
            engine.close();
        }
    }

    @State(Scope.Benchmark)
    public static class PauseCycle extends Cycle {
        @Setup(Level.Invocation)
        public void before() {
            readyToPause();
        }
    }

    @State(Scope.Benchmark)
    public static class ResumeCycle extends Cycle {
        @Setup(Level.Invocation)
        public void before() {
            readyToResume();
        }
    }

    @Benchmark
    public void pause(PauseCycle c) {
        c.sandbox.pause();
    }

    @Benchmark
    public void resume(ResumeCycle c) {
        c.sandbox.resume();
    }
}
