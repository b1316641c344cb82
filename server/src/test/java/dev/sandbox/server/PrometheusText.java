package dev.sandbox.server;

import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A strict reader of the Prometheus text format (0.0.4) for tests: every sample line well formed, its metric
 * declared by a TYPE line first, no sample twice, histogram buckets cumulative and ending in +Inf = _count.
 */
final class PrometheusText {

    private static final Pattern SAMPLE = Pattern.compile(
            "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\.)*\",?)*\\})? (\\S+)");
    private static final Pattern TYPE = Pattern.compile("# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)");

    private PrometheusText() {
    }

    /** Samples as "name{labels}" (exactly as written) to value. */
    static Map<String, Double> parse(String text) {
        assertTrue(text.endsWith("\n"), "the exposition ends with a newline");
        Map<String, Double> samples = new LinkedHashMap<>();
        Map<String, String> types = new HashMap<>();
        Set<String> seenHelp = new HashSet<>();
        for (String line : text.split("\n")) {
            if (line.startsWith("# HELP ")) {
                assertTrue(seenHelp.add(line.split(" ")[2]), "HELP twice: " + line);
                continue;
            }
            if (line.startsWith("#")) {
                Matcher t = TYPE.matcher(line);
                assertTrue(t.matches(), "bad comment line: " + line);
                assertFalse(types.containsKey(t.group(1)), "TYPE twice: " + line);
                types.put(t.group(1), t.group(2));
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            assertTrue(m.matches(), "bad sample line: " + line);
            String name = m.group(1);
            String base = name.replaceAll("_(bucket|sum|count)$", "");
            assertTrue(types.containsKey(name) || "histogram".equals(types.get(base)),
                    "sample before its TYPE: " + line);
            double value;
            try {
                value = m.group(3).equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(m.group(3));
            } catch (NumberFormatException e) {
                fail("bad value: " + line);
                return null;
            }
            String key = name + (m.group(2) == null ? "" : m.group(2));
            assertFalse(samples.containsKey(key), "sample twice: " + line);
            samples.put(key, value);
        }
        checkHistograms(samples);
        return samples;
    }

    private static void checkHistograms(Map<String, Double> samples) {
        Map<String, Double> lastBucket = new HashMap<>();
        for (Map.Entry<String, Double> e : samples.entrySet()) {
            String k = e.getKey();
            if (!k.contains("_bucket{")) {
                continue;
            }
            String series = k.replaceAll(",?le=\"[^\"]*\"", "").replace("{}", "");
            Double before = lastBucket.put(series, e.getValue());
            assertTrue(before == null || before <= e.getValue(), "buckets not cumulative at " + k);
            if (k.contains("le=\"+Inf\"")) {
                String count = series.replaceFirst("_bucket($|\\{)", "_count$1");
                assertEquals(samples.get(count), e.getValue(), "+Inf bucket != _count for " + series);
            }
        }
    }
}
