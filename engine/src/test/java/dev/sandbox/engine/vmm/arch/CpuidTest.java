package dev.sandbox.engine.vmm.arch;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CpuidTest {
    private static final CpuidEntry KVM_SIGNATURE = new CpuidEntry(0x4000_0000, 0, 0, 0x4000_0001, 0x4b4d_564b,
            0x564b_4d56, 0x4d);
    private static final List<CpuidEntry> SUPPORTED = List.of(
            new CpuidEntry(0x1, 0, 0, 0x000a_0655, 0x00ff_ff07, 0x7ffa_3203, 0x178b_fbff),
            new CpuidEntry(0x4, 0, 1, 0x1c00_4121, 1, 2, 3),  // L1 data cache
            new CpuidEntry(0x4, 3, 1, 0xfc07_c163, 1, 2, 3),  // L3 unified cache
            new CpuidEntry(0x4, 4, 1, 0, 0, 0, 0),             // end of caches
            new CpuidEntry(0x6, 0, 0, 0x0000_0077, 0, 0x9, 0),
            new CpuidEntry(0xa, 0, 0, 0x0704_0302, 1, 2, 3),
            new CpuidEntry(0xb, 0, 1, 1, 2, 0x100, 7),
            new CpuidEntry(0xb, 1, 1, 4, 16, 0x201, 7),
            new CpuidEntry(0xb, 2, 1, 0, 0, 2, 7),
            KVM_SIGNATURE);

    @Test
    void leafOneCarriesApicIdCountAndHypervisorBit() {
        CpuidEntry leaf1 = Cpuid.forVcpu(SUPPORTED, 2, 4).get(0);
        assertEquals(0x000a_0655, leaf1.eax());
        assertEquals(0x0204_0807, leaf1.ebx()); // APIC id 2, 4 logical CPUs, 64-byte CLFLUSH, brand 7 kept
        assertEquals(0x8000_0000, leaf1.ecx() & 0x8000_0000);
        assertEquals(1 << 24, leaf1.ecx() & (1 << 24));
        assertEquals(1 << 28, leaf1.edx() & (1 << 28));
        assertEquals(0, Cpuid.forVcpu(SUPPORTED, 0, 1).get(0).edx() & (1 << 28)); // no HTT alone
    }

    @Test
    void topologyLeavesDescribeOneThreadPerCore() {
        List<CpuidEntry> cpu3 = Cpuid.forVcpu(SUPPORTED, 3, 4);
        assertEquals(new CpuidEntry(0xb, 0, 1, 0, 1, 0x100, 3), cpu3.get(6));
        assertEquals(new CpuidEntry(0xb, 1, 1, 2, 4, 0x201, 3), cpu3.get(7));
        assertEquals(new CpuidEntry(0xb, 2, 1, 0, 0, 2, 3), cpu3.get(8));
        assertEquals(0x0c00_0121, cpu3.get(1).eax());         // L1 private: 4 cores, shared by 1
        assertEquals(0x0c00_c163, cpu3.get(2).eax());         // L3: shared by all 4
        assertEquals(SUPPORTED.get(3), cpu3.get(3));
    }

    @Test
    void clearsUnemulatedFeaturesAndKeepsOtherLeaves() {
        List<CpuidEntry> cpu0 = Cpuid.forVcpu(SUPPORTED, 0, 1);
        assertEquals(0x75, cpu0.get(4).eax()); // turbo boost gone, ARAT kept
        assertEquals(0x1, cpu0.get(4).ecx());  // energy-performance bias gone
        assertEquals(new CpuidEntry(0xa, 0, 0, 0, 0, 0, 0), cpu0.get(5));
        assertEquals(KVM_SIGNATURE, cpu0.get(9));
        assertThrows(IllegalArgumentException.class, () -> Cpuid.forVcpu(SUPPORTED, 1, 1));
    }
}
