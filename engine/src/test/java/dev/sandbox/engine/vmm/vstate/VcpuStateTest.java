package dev.sandbox.engine.vmm.vstate;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class VcpuStateTest {
    @Test
    void pauseResumeAndStopMoveBetweenStates() {
        assertEquals(VcpuState.PAUSED, VcpuState.RUNNING.on(VcpuCommand.PAUSE));
        assertEquals(VcpuState.PAUSED, VcpuState.PAUSED.on(VcpuCommand.PAUSE));
        assertEquals(VcpuState.RUNNING, VcpuState.PAUSED.on(VcpuCommand.RESUME));
        assertEquals(VcpuState.RUNNING, VcpuState.RUNNING.on(VcpuCommand.RESUME));
        assertEquals(VcpuState.FINISHED, VcpuState.RUNNING.on(VcpuCommand.STOP));
        assertEquals(VcpuState.FINISHED, VcpuState.PAUSED.on(VcpuCommand.STOP));
    }

    @Test
    void finishedIsFinal() {
        for (VcpuCommand command : VcpuCommand.values()) {
            assertEquals(VcpuState.FINISHED, VcpuState.FINISHED.on(command));
        }
    }
}
