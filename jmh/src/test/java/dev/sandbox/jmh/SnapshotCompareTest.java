package dev.sandbox.jmh;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SnapshotCompareTest {

    @Test
    void defaultsAreTheIssuesSetting() {
        SnapshotCompare.Options o = SnapshotCompare.Options.parse();
        assertEquals(new SnapshotCompare.Options(10, 2, 64, 256, 20, "kvm", true, true), o);
    }

    @Test
    void keyValueArgumentsOverrideAndSidePicksHalves() {
        SnapshotCompare.Options o = SnapshotCompare.Options.parse("rounds=3", "warmup=0", "dirty=16", "accel=tcg",
                "side=qemu");
        assertEquals(3, o.rounds());
        assertEquals(0, o.warmup());
        assertEquals(16, o.dirtyMib());
        assertEquals("tcg", o.accel());
        assertFalse(o.ours());
        assertTrue(o.qemu());
        assertFalse(SnapshotCompare.Options.parse("side=ours").qemu());
    }

    @Test
    void nonsenseIsRefusedWithTheUsage() {
        for (String bad : new String[] {"round=3", "10", "rounds=x", "side=neither", "dirty=256", "rounds=0"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SnapshotCompare.Options.parse(bad), bad);
            assertTrue(e.getMessage().contains("usage"), e.getMessage());
        }
    }

    @Test
    void qemusGuestCommandLineNestsNoDoubleQuotes() {
        // The kernel groups a double-quoted span into one argument and knows no escapes: exactly one such span,
        // the whole script after "-c", or init gets a broken script and the guest panics.
        String append = QemuSnapshotGuest.append();
        assertEquals(2, append.chars().filter(c -> c == '"').count());
        assertTrue(append.contains("rdinit=/bin/sh -- -c \""), append);
        assertTrue(append.endsWith("exec /init\""), append);
    }
}
