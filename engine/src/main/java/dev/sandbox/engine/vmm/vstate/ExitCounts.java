package dev.sandbox.engine.vmm.vstate;

import dev.sandbox.ffi.kvm.VcpuExit;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * VM exits of every vCPU in this process, by kind, for monitoring: process-wide so the sum does not drop when a
 * sandbox pauses or goes (a Prometheus counter must not). One adder per kind of the sealed {@link VcpuExit}: an
 * increment on the vCPU's own thread, no lock.
 */
public final class ExitCounts {

    private static final LongAdder IO = new LongAdder();
    private static final LongAdder MMIO = new LongAdder();
    private static final LongAdder HLT = new LongAdder();
    private static final LongAdder INTR = new LongAdder();
    private static final LongAdder OTHER = new LongAdder();

    private ExitCounts() {
    }

    static void count(VcpuExit exit) {
        (switch (exit) {
            case VcpuExit.Io ignored -> IO;
            case VcpuExit.Mmio ignored -> MMIO;
            case VcpuExit.Hlt ignored -> HLT;
            case VcpuExit.Intr ignored -> INTR;  // a kick: pause, stop, or a device asking the vCPU out
            default -> OTHER;                      // shutdown, system events, failures: rare
        }).increment();
    }

    /** Exits so far by kind: io, mmio, hlt, intr, other. */
    public static Map<String, Long> snapshot() {
        Map<String, Long> out = new TreeMap<>();
        out.put("io", IO.sum());
        out.put("mmio", MMIO.sum());
        out.put("hlt", HLT.sum());
        out.put("intr", INTR.sum());
        out.put("other", OTHER.sum());
        return out;
    }
}
