package dev.sandbox.jmh;

import dev.sandbox.ffi.Mapping;
import dev.sandbox.ffi.kvm.Kvm;
import dev.sandbox.ffi.kvm.Regs;
import dev.sandbox.ffi.kvm.Segment;
import dev.sandbox.ffi.kvm.Sregs;
import dev.sandbox.ffi.kvm.VcpuExit;
import dev.sandbox.ffi.kvm.VcpuFd;
import dev.sandbox.ffi.kvm.VmFd;
import java.lang.foreign.ValueLayout;
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
 * Raw KVM work through ffi, the same as {@code jmh/c/kvm_exit.c} does in C: a VM-exit round trip (a real-mode
 * guest looping on {@code out dx, al}: each {@code KVM_RUN} enters the guest and returns with an I/O exit) and a
 * vCPU state ioctl ({@code KVM_GET_REGS}). Needs a /dev/kvm that runs small guests (kvm_pvm does).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class KvmExitBenchmark {

    // mov dx, 0x3f8; l: out dx, al; jmp l
    private static final byte[] GUEST = {(byte) 0xba, (byte) 0xf8, 0x03, (byte) 0xee, (byte) 0xeb, (byte) 0xfd};

    private Kvm kvm;
    private VmFd vm;
    private Mapping memory;
    private VcpuFd vcpu;

    @Setup
    public void setUp() {
        kvm = Kvm.open();
        vm = kvm.createVm();
        memory = Mapping.anonymous(1 << 20, false);
        vm.setTssAddr(0xfffbd000L);
        vm.setUserMemoryRegion(0, 0, 0, memory);
        for (int i = 0; i < GUEST.length; i++) {
            memory.segment().set(ValueLayout.JAVA_BYTE, 0x1000 + i, GUEST[i]);
        }
        vcpu = vm.createVcpu(0);
        Sregs s = vcpu.getSregs();
        Segment cs = s.cs();
        vcpu.setSregs(s.toBuilder().cs(new Segment(0, cs.limit(), 0, cs.type(), cs.present(), cs.dpl(), cs.db(),
                cs.s(), cs.l(), cs.g(), cs.avl(), cs.unusable())).build());
        vcpu.setRegs(Regs.RESET.withRip(0x1000));
    }

    @TearDown
    public void tearDown() {
        vcpu.close();
        memory.close();
        vm.close();
        kvm.close();
    }

    /** One guest entry and I/O exit. */
    @Benchmark
    public Object exitRoundTrip() {
        VcpuExit exit = vcpu.run();
        if (!(exit instanceof VcpuExit.Io)) {
            throw new IllegalStateException("expected an I/O exit, got " + exit);
        }
        return exit;
    }

    /** One vCPU ioctl that copies a struct out (KVM_GET_REGS), decoded into a record. */
    @Benchmark
    public Regs getRegs() {
        return vcpu.getRegs();
    }
}
