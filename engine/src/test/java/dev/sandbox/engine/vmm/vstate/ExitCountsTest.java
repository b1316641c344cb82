package dev.sandbox.engine.vmm.vstate;

import dev.sandbox.ffi.kvm.VcpuExit;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ExitCountsTest {

    @Test
    void eachExitCountsUnderItsKindAndTheSumsOnlyGrow() {
        Map<String, Long> before = ExitCounts.snapshot();
        ExitCounts.count(new VcpuExit.Hlt());
        ExitCounts.count(new VcpuExit.Hlt());
        ExitCounts.count(new VcpuExit.Intr());
        ExitCounts.count(new VcpuExit.Shutdown());
        Map<String, Long> after = ExitCounts.snapshot();
        assertEquals(before.get("hlt") + 2, after.get("hlt"));
        assertEquals(before.get("intr") + 1, after.get("intr"));
        assertEquals(before.get("other") + 1, after.get("other"));
        assertEquals(before.get("io"), after.get("io"));
        assertEquals(before.get("mmio"), after.get("mmio"));
    }
}
