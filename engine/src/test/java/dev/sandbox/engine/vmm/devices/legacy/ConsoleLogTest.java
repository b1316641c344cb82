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

    @Test
    void reportsCompleteLinesWithoutLineEndings() {
        java.util.List<String> lines = new java.util.ArrayList<>();
        ConsoleLog log = new ConsoleLog(16, lines::add);
        for (byte b : ("one\r\ntwo\n" + "x".repeat(300) + "\nthree").getBytes()) {
            log.append(b);
        }
        assertEquals(java.util.List.of("one", "two", "x".repeat(ConsoleLog.MAX_LINE)), lines);
    }
}
