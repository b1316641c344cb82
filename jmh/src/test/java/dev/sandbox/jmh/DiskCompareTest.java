package dev.sandbox.jmh;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class DiskCompareTest {

    @Test
    void readsEachDdSummaryBetweenConsoleNoise() throws IOException {
        String console = "[    1.2] EXT4-fs (vda): mounted\r\n"
                + "R 67108864 bytes (67 MB, 64 MiB) copied, 0.5 s, 134 MB/s\r\n"
                + "W 67108864 bytes (67 MB, 64 MiB) copied, 2 s, 33.6 MB/s\n"
                + "O 67108864 bytes (67 MB, 64 MiB) copied, 0.25 s, 268 MB/s\n"
                + "S 8388608 bytes (8.4 MB, 8.0 MiB) copied, 4.0e-01 s, 21 MB/s\n";
        Map<DiskCompare.Test, Double> rates = DiskCompare.parse(console, "test");
        assertEquals(128.0, rates.get(DiskCompare.Test.R), 1e-9);
        assertEquals(32.0, rates.get(DiskCompare.Test.W), 1e-9);
        assertEquals(256.0, rates.get(DiskCompare.Test.O), 1e-9);
        assertEquals(20.0, rates.get(DiskCompare.Test.S), 1e-9);
    }

    @Test
    void aMissingSummaryIsAnError() {
        assertThrows(IOException.class, () -> DiskCompare.parse("R 1 bytes (1 B) copied, 1 s, 1 B/s\n", "test"));
    }
}
