package dev.sandbox.jmh;

import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Latencies of two sides per operation (microseconds in HdrHistograms) as a markdown table: p50 and p99 of each,
 * the ratios left/right and the target for the p50 ratio, met or not. A side with no samples prints "-".
 */
final class CompareTable {
    /** One operation; {@code target} is the highest p50 ratio that meets it, NaN for none. */
    record Row(String operation, Histogram left, Histogram right, double target) {
    }

    private final String left;
    private final String right;
    private final List<Row> rows = new ArrayList<>();

    CompareTable(String left, String right) {
        this.left = left;
        this.right = right;
    }

    CompareTable add(String operation, Histogram left, Histogram right, double target) {
        rows.add(new Row(operation, left, right, target));
        return this;
    }

    /** A histogram for microsecond samples, precise to 3 significant digits, growing as needed. */
    static Histogram micros() {
        return new Histogram(3);
    }

    static void record(Histogram h, long nanos) {
        h.recordValue(Math.max(1, nanos / 1_000));
    }

    String format() {
        StringBuilder out = new StringBuilder();
        out.append(("| operation | %1$s p50 ms | %1$s p99 ms | %2$s p50 ms | %2$s p99 ms | %1$s/%2$s p50"
                + " | %1$s/%2$s p99 | samples | target |\n").formatted(left, right));
        out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
        for (Row r : rows) {
            double l50 = p(r.left(), 50);
            double r50 = p(r.right(), 50);
            double ratio50 = l50 / r50;
            out.append("| ").append(r.operation())
                    .append(" | ").append(ms(l50)).append(" | ").append(ms(p(r.left(), 99)))
                    .append(" | ").append(ms(r50)).append(" | ").append(ms(p(r.right(), 99)))
                    .append(" | ").append(ratio(ratio50))
                    .append(" | ").append(ratio(p(r.left(), 99) / p(r.right(), 99)))
                    .append(" | ").append(r.left().getTotalCount()).append('/').append(r.right().getTotalCount())
                    .append(" | ").append(target(r.target(), ratio50)).append(" |\n");
        }
        return out.toString();
    }

    /**
     * The percentile in microseconds (the low end of its bucket: what was recorded, to 3 digits), NaN without
     * samples.
     */
    static double p(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? Double.NaN : h.lowestEquivalentValue(h.getValueAtPercentile(percentile));
    }

    static String ms(double micros) {
        if (Double.isNaN(micros)) {
            return "-";
        }
        double ms = micros / 1000.0;
        return String.format(Locale.ROOT, ms < 10 ? "%.3f" : ms < 1000 ? "%.1f" : "%.0f", ms);
    }

    private static String ratio(double r) {
        return Double.isNaN(r) || Double.isInfinite(r) ? "-" : String.format(Locale.ROOT, "%.3f", r);
    }

    private static String target(double target, double ratio) {
        if (Double.isNaN(target)) {
            return "";
        }
        String t = String.format(Locale.ROOT, "<= %sx", trim(target));
        return Double.isNaN(ratio) ? t : t + (ratio <= target ? ": met" : ": not met");
    }

    private static String trim(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }
}
