package dev.sandbox.load;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogWriter;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/** The results table (milliseconds, throughput over the whole run) and one HdrHistogram log per operation. */
public final class Report {

    private Report() {
    }

    public static void print(PrintStream out, Map<Operation, Histogram> histograms, Stats stats, Duration wall) {
        out.printf("%-11s %7s %7s %9s %9s %9s %9s %9s%n", "operation", "count", "failed", "p50 ms", "p90 ms",
                "p99 ms", "max ms", "ops/s");
        double seconds = Math.max(1e-9, wall.toNanos() / 1e9);
        histograms.forEach((op, h) -> {
            long n = h.getTotalCount();
            if (n == 0 && stats.failures(op) == 0) {
                return;
            }
            out.printf("%-11s %7d %7d %9.2f %9.2f %9.2f %9.2f %9.1f%n", op.label(), n, stats.failures(op),
                    ms(h, 50), ms(h, 90), ms(h, 99), n == 0 ? 0 : h.getMaxValue() / 1000.0, n / seconds);
        });
    }

    private static double ms(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile) / 1000.0;
    }

    public static void writeLogs(Path dir, Map<Operation, Histogram> histograms) throws IOException {
        Files.createDirectories(dir);
        for (Map.Entry<Operation, Histogram> e : histograms.entrySet()) {
            try (PrintStream ps = new PrintStream(Files.newOutputStream(dir.resolve(e.getKey().label() + ".hlog")))) {
                HistogramLogWriter writer = new HistogramLogWriter(ps);
                writer.outputComment("operation " + e.getKey().label() + ", values in microseconds");
                writer.outputLogFormatVersion();
                writer.outputLegend();
                writer.outputIntervalHistogram(e.getValue());
            }
        }
    }
}
