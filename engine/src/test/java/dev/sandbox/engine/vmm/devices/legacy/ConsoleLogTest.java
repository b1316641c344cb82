package dev.sandbox.engine.vmm.devices.legacy;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ConsoleLogTest {
    @Test
    void keepsOnlyTheNewestBytes() {
        ConsoleLog log = new ConsoleLog(4);
        for (byte b : "abcdef".getBytes()) {
            log.append(b);
        }
        assertEquals("cdef", log.tail());
        assertEquals(6, log.totalBytes());
        assertEquals("", new ConsoleLog().tail());
    }
}
