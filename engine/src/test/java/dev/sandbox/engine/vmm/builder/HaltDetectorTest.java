package dev.sandbox.engine.vmm.builder;

import dev.sandbox.engine.vmm.vstate.StopReason;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

class HaltDetectorTest {
    @Test
    void stopsOnTheKernelsHaltAndPowerDownLinesOnly() {
        List<StopReason> stops = new ArrayList<>();
        HaltDetector detector = new HaltDetector();
        detector.target(stops::add);
        detector.accept("sandbox-agent: ready: listening on vsock port 10000");
        detector.accept("reboot: Restarting system");
        assertEquals(0, stops.size());
        detector.accept("reboot: System halted");
        detector.accept("[    1.234567] reboot: Power down");
        assertEquals(2, stops.size());
        assertInstanceOf(StopReason.GuestStopped.class, stops.getFirst());
    }

    @Test
    void aResetAfterAPanicIsACrash() {
        HaltDetector detector = new HaltDetector();
        assertInstanceOf(StopReason.GuestStopped.class, detector.resetReason());
        detector.accept("[    2.5] Kernel panic - not syncing: sysrq triggered crash");
        StopReason reason = detector.resetReason();
        assertInstanceOf(StopReason.Crashed.class, reason);
        assertEquals("the guest crashed: [    2.5] Kernel panic - not syncing: sysrq triggered crash",
                reason.describe());
    }
}
