package dev.sandbox.engine.vmm.vstate;

import dev.sandbox.ffi.kvm.Msr;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VcpuSnapshotTest {
    @Test
    void tscDeadlineIsRestoredLastAndAZeroDeadlineBecomesTheTsc() {
        List<Msr> saved = List.of(new Msr(0x6e0, 0), new Msr(0x10, 123_456), new Msr(0x2ff, 0xc06));
        assertEquals(List.of(new Msr(0x10, 123_456), new Msr(0x2ff, 0xc06), new Msr(0x6e0, 123_456)),
                VcpuSnapshot.orderedForRestore(saved));
        List<Msr> armed = List.of(new Msr(0x10, 5), new Msr(0x6e0, 999), new Msr(0x2ff, 0xc06));
        assertEquals(List.of(new Msr(0x10, 5), new Msr(0x2ff, 0xc06), new Msr(0x6e0, 999)),
                VcpuSnapshot.orderedForRestore(armed));
        assertEquals(List.of(new Msr(0x10, 5)), VcpuSnapshot.orderedForRestore(List.of(new Msr(0x10, 5))));
    }

    @Test
    void theMtrrsAreSavedEvenThoughKvmDoesNotListThem() {
        int[] all = SavedMsrs.candidates(new int[] {0x10, 0x2ff, 0xc0000082});
        for (int mtrr : new int[] {0x200, 0x20f, 0x250, 0x258, 0x259, 0x268, 0x26f, 0x2ff}) {
            assertTrue(Arrays.stream(all).anyMatch(i -> i == mtrr), "0x" + Integer.toHexString(mtrr));
        }
        assertEquals(Arrays.stream(all).distinct().count(), all.length, "no MSR twice");
        assertTrue(Arrays.stream(all).anyMatch(i -> i == 0xc0000082));
    }
}
