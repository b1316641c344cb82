package dev.sandbox.jmh;

import dev.sandbox.ffi.Libc;
import dev.sandbox.ffi.kvm.Kvm;
import dev.sandbox.ffi.kvm.KvmConstants;
import java.util.concurrent.TimeUnit;
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
 * Cost of one FFM downcall as the ffi module makes it (errno captured into a confined arena), against one
 * without either, and of a cheap KVM ioctl where /dev/kvm exists.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class FfiDowncallBenchmark {
    private Kvm kvm;

    @Setup
    public void setUp() {
        kvm = Kvm.isPresent() ? Kvm.open() : null;
    }

    @TearDown
    public void tearDown() {
        if (kvm != null) {
            kvm.close();
        }
    }

    /** getpid(2) with errno capture and a confined arena: the shape of every ffi call. */
    @Benchmark
    public int getpid() {
        return Libc.getpid();
    }

    /** pthread_self(3): a downcall with no errno capture and no arena, the floor. */
    @Benchmark
    public long pthreadSelf() {
        return Libc.pthreadSelf();
    }

    /** KVM_CHECK_EXTENSION(KVM_CAP_IRQFD) on /dev/kvm; without /dev/kvm it measures getpid instead. */
    @Benchmark
    public int kvmCheckExtension() {
        return kvm != null ? kvm.checkExtension(KvmConstants.KVM_CAP_IRQFD) : Libc.getpid();
    }
}
