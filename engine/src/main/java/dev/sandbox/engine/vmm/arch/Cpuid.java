package dev.sandbox.engine.vmm.arch;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns the CPUID entries KVM supports into what one vCPU should see: its APIC id and the VM's topology (one thread
 * per core, all cores in one package, APIC id = vCPU index as in {@link MpTable}), the hypervisor bit, and features
 * the VMM does not emulate cleared. Leaves not named here, including KVM's signature leaves at 0x4000_0000, pass
 * through unchanged.
 */
public final class Cpuid {
    static final int LEAF_FEATURES = 0x1;
    static final int LEAF_CACHE_PARAMETERS = 0x4;
    static final int LEAF_THERMAL_POWER = 0x6;
    static final int LEAF_PERFORMANCE_MONITORING = 0xa;
    static final int LEAF_TOPOLOGY = 0xb;
    static final int LEAF_TOPOLOGY_V2 = 0x1f;

    static final int ECX_TSC_DEADLINE = 1 << 24; // emulated by KVM's in-kernel LAPIC
    static final int ECX_HYPERVISOR = 1 << 31;
    static final int EDX_HTT = 1 << 28;
    static final int CLFLUSH_LINE_SIZE_QWORDS = 8; // 64-byte cache lines
    static final int EAX_TURBO_BOOST = 1 << 1;
    static final int ECX_ENERGY_PERF_BIAS = 1 << 3;
    static final int LEVEL_TYPE_SMT = 1;
    static final int LEVEL_TYPE_CORE = 2;

    private Cpuid() {
    }

    /** The entries for vCPU {@code cpuIndex} of {@code cpuCount}, in the order given. */
    public static List<CpuidEntry> forVcpu(List<CpuidEntry> supported, int cpuIndex, int cpuCount) {
        if (cpuCount < 1 || cpuCount > MpTable.MAX_CPUS || cpuIndex < 0 || cpuIndex >= cpuCount) {
            throw new IllegalArgumentException("vCPU %d of %d".formatted(cpuIndex, cpuCount));
        }
        List<CpuidEntry> result = new ArrayList<>(supported.size());
        for (CpuidEntry entry : supported) {
            result.add(adjust(entry, cpuIndex, cpuCount));
        }
        return List.copyOf(result);
    }

    private static CpuidEntry adjust(CpuidEntry e, int apicId, int cpuCount) {
        return switch (e.function()) {
            case LEAF_FEATURES -> e.withRegisters(e.eax(),
                    (e.ebx() & 0xff) | CLFLUSH_LINE_SIZE_QWORDS << 8 | cpuCount << 16 | apicId << 24,
                    e.ecx() | ECX_HYPERVISOR | ECX_TSC_DEADLINE,
                    cpuCount > 1 ? e.edx() | EDX_HTT : e.edx() & ~EDX_HTT);
            case LEAF_CACHE_PARAMETERS -> cacheParameters(e, cpuCount);
            case LEAF_THERMAL_POWER -> e.withRegisters(e.eax() & ~EAX_TURBO_BOOST, e.ebx(),
                    e.ecx() & ~ECX_ENERGY_PERF_BIAS, e.edx());
            case LEAF_PERFORMANCE_MONITORING -> e.withRegisters(0, 0, 0, 0); // no virtual PMU
            case LEAF_TOPOLOGY, LEAF_TOPOLOGY_V2 -> topology(e, apicId, cpuCount);
            default -> e;
        };
    }

    /** Intel leaf 4: cores per package in EAX[31:26], threads sharing this cache in EAX[25:14] (both minus one). */
    private static CpuidEntry cacheParameters(CpuidEntry e, int cpuCount) {
        if ((e.eax() & 0x1f) == 0) { // no more caches
            return e;
        }
        int level = (e.eax() >>> 5) & 0x7;
        int sharing = level >= 3 ? cpuCount - 1 : 0;
        int eax = (e.eax() & 0x3fff) | sharing << 14 | (cpuCount - 1) << 26;
        return e.withRegisters(eax, e.ebx(), e.ecx(), e.edx());
    }

    /**
     * Extended topology: subleaf 0 is the SMT level (one thread), subleaf 1 the core level (all vCPUs), later subleaves
     * are invalid. EAX is how far to shift the x2APIC id to reach the next level's id; EDX is the x2APIC id.
     */
    private static CpuidEntry topology(CpuidEntry e, int apicId, int cpuCount) {
        return switch (e.index()) {
            case 0 -> e.withRegisters(0, 1, LEVEL_TYPE_SMT << 8, apicId);
            case 1 -> e.withRegisters(bitsFor(cpuCount), cpuCount, LEVEL_TYPE_CORE << 8 | 1, apicId);
            default -> e.withRegisters(0, 0, e.index() & 0xff, apicId);
        };
    }

    /** Bits needed to number {@code count} items: ceil(log2(count)). */
    private static int bitsFor(int count) {
        return 32 - Integer.numberOfLeadingZeros(count - 1);
    }
}
