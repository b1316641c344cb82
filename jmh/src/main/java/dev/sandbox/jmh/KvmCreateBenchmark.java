package dev.sandbox.jmh;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.PoolShape;
import dev.sandbox.engine.vmm.KvmEngine;
import java.time.Duration;
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

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * Create to agent-ready on KVM: a cold boot of our VMM, a create from the template snapshot (what the server
 * does for every create after the first), and QEMU microvm booting the same kernel and initramfs on the same KVM
 * (to its agent's ready line); then the same three for the {@code python} disk template (its ext4 image on
 * virtio-blk, ours with a copy-on-write overlay per sandbox, QEMU's with {@code snapshot=on}), and a create served
 * by the warm pool (minimal; refilled outside the timing). One create per
 * measured invocation; the sandbox is destroyed outside the timing.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 2)
@Measurement(iterations = 10)
public class KvmCreateBenchmark {
    static final String PYTHON = "python";

    @State(Scope.Benchmark)
    public static class Engines {
        @Param("256")
        public int memoryMb;

        Engine cold;
        Engine templated;
        /** Templates and a warm pool of one clone, refilled (untimed) after every create. */
        Engine pooled;
        Sandbox last;
        StallWatch watch;

        @Setup(Level.Trial)
        public void open() {
            watch = new StallWatch("KvmCreateBenchmark", () -> last);
            cold = KvmBench.open(false);
            templated = KvmBench.open(true);
            KvmBench.create(templated, memoryMb).close(); // builds the templates: not clones, not timed
            KvmBench.create(templated, PYTHON, memoryMb).close();
            pooled = KvmBench.open(true);
            pooled.configurePool(new PoolShape("minimal", 1, memoryMb, null), 1, Duration.ofHours(1));
            refill();
        }

        void refill() {
            try {
                if (!((KvmEngine) pooled).awaitPoolFull(Duration.ofMinutes(5))) {
                    throw new IllegalStateException("the warm pool did not refill: " + pooled.pooled());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        @TearDown(Level.Invocation)
        public void destroy() {
            watch.progress();
            if (last != null) {
                last.close();
                last = null;
            }
            refill();
        }

        @TearDown(Level.Trial)
        public void close() {
            watch.close();
            pooled.close();
            templated.close();
            cold.close();
        }
    }

    @Benchmark
    public Sandbox coldBoot(Engines e) {
        return e.last = KvmBench.create(e.cold, e.memoryMb);
    }

    @Benchmark
    public Sandbox fromTemplate(Engines e) {
        return e.last = KvmBench.create(e.templated, e.memoryMb);
    }

    /** From the warm pool: the clone was restored ahead of time; the create sends it its identity. */
    @Benchmark
    public Sandbox fromPool(Engines e) {
        return e.last = KvmBench.create(e.pooled, e.memoryMb);
    }

    @Benchmark
    public Sandbox coldBootPython(Engines e) {
        return e.last = KvmBench.create(e.cold, PYTHON, e.memoryMb);
    }

    @Benchmark
    public Sandbox fromPythonTemplate(Engines e) {
        return e.last = KvmBench.create(e.templated, PYTHON, e.memoryMb);
    }

    /** QEMU needs no engine (and no template built first). */
    @State(Scope.Benchmark)
    public static class Qemu {
        @Param("256")
        public int memoryMb;
    }

    @Benchmark
    public double qemuMicrovmBoot(Qemu q) throws IOException, InterruptedException {
        return QemuMicrovm.bootToReadyMs(EngineConfig.guestDirFromSystemProperty(), q.memoryMb);
    }

    @Benchmark
    public double qemuMicrovmBootPython(Qemu q) throws IOException, InterruptedException {
        return QemuMicrovm.bootDiskToReadyMs(EngineConfig.guestDirFromSystemProperty(), PYTHON, q.memoryMb);
    }
}
