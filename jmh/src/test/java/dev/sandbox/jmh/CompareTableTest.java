package dev.sandbox.jmh;

import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class CompareTableTest {

    private static Histogram ms(double... values) {
        Histogram h = CompareTable.micros();
        for (double v : values) {
            CompareTable.record(h, (long) (v * 1_000_000));
        }
        return h;
    }

    @Test
    void printsPercentilesRatiosAndWhetherTheTargetIsMet() {
        String table = new CompareTable("ours", "QEMU")
                // values HdrHistogram keeps exactly (at 3 digits a bucket is 2^k microseconds wide)
                .add("pause", ms(10, 20, 30), ms(102.4, 204.8, 409.6), 0.25)
                .add("resume", ms(51.2), ms(102.4), 0.1)
                .add("info", ms(5), ms(10), Double.NaN)
                .format();
        List<String> lines = table.lines().toList();
        assertEquals("| operation | ours p50 ms | ours p99 ms | QEMU p50 ms | QEMU p99 ms | ours/QEMU p50"
                + " | ours/QEMU p99 | samples | target |", lines.get(0));
        assertEquals("| pause | 20.0 | 30.0 | 204.8 | 409.6 | 0.098 | 0.073 | 3/3 | <= 0.25x: met |", lines.get(2));
        assertEquals("| resume | 51.2 | 51.2 | 102.4 | 102.4 | 0.500 | 0.500 | 1/1 | <= 0.1x: not met |",
                lines.get(3));
        assertEquals("| info | 5.000 | 5.000 | 10.0 | 10.0 | 0.500 | 0.500 | 1/1 |  |", lines.get(4));
        assertEquals(5, lines.size());
    }

    @Test
    void aSideWithoutSamplesPrintsDashes() {
        String row = new CompareTable("exec", "ping").add("exec", ms(1.5), CompareTable.micros(), 1.5).format()
                .lines().toList().get(2);
        assertEquals("| exec | 1.500 | 1.500 | - | - | - | - | 1/0 | <= 1.5x |", row);
    }

    @Test
    void millisecondsKeepThreeSignificantPlacesOrSo() {
        assertEquals("0.042", CompareTable.ms(42));
        assertEquals("123.5", CompareTable.ms(123_456));
        assertEquals("5089", CompareTable.ms(5_089_000));
        assertEquals("-", CompareTable.ms(Double.NaN));
    }
}
