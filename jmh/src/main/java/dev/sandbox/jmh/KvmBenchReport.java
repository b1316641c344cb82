package dev.sandbox.jmh;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Turns the JMH JSON of the KVM benchmarks into one table: p50, p99 and max per operation, the target
 * beside each, and our boot against QEMU microvm's from the same run.
 * <pre>java -cp benchmarks.jar dev.sandbox.jmh.KvmBenchReport results.json</pre>
 */
public final class KvmBenchReport {

    /** What a row is, and its target on real KVM (issue 8); null where the issue sets none. */
    private record Row(String label, String target) {
    }

    private static final Map<String, Row> ROWS = new LinkedHashMap<>();

    static {
        ROWS.put("KvmCreateBenchmark.coldBoot", new Row("create, cold boot to agent-ready", "<= 100 ms"));
        ROWS.put("KvmCreateBenchmark.fromTemplate", new Row("create from template", "p50 <= 10 ms"));
        ROWS.put("KvmCreateBenchmark.qemuMicrovmBoot", new Row("QEMU microvm boot to agent ready line", null));
        ROWS.put("KvmCreateBenchmark.coldBootPython", new Row("python (disk): create, cold boot", null));
        ROWS.put("KvmCreateBenchmark.fromPythonTemplate", new Row("python (disk): create from template", null));
        ROWS.put("KvmCreateBenchmark.qemuMicrovmBootPython", new Row("python (disk): QEMU microvm boot", null));
        ROWS.put("KvmSandboxBenchmark.execTrue", new Row("exec `true` (engine API)", "REST: p50 <= 2 ms, p99 <= 5 ms"));
        ROWS.put("KvmSandboxBenchmark.writeFile", new Row("file write", null));
        ROWS.put("KvmSandboxBenchmark.readFile", new Row("file read", null));
        ROWS.put("KvmSnapshotBenchmark.pause", new Row("pause", "<= 50 ms (512 MiB, 64 MiB touched)"));
        ROWS.put("KvmSnapshotBenchmark.resume", new Row("resume", "<= 10 ms (512 MiB, 64 MiB touched)"));
    }

    private KvmBenchReport() {
    }

    public static void main(String[] args) throws IOException {
        print(new ObjectMapper().readTree(Path.of(args[0]).toFile()), System.out);
    }

    static void print(JsonNode results, PrintStream out) {
        Map<String, JsonNode> byName = new LinkedHashMap<>();
        for (JsonNode r : results) {
            String name = r.path("benchmark").asText();
            byName.put(name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1), r);
        }
        out.println("| operation | params | p50 ms | p99 ms | max ms | samples | target (real KVM) |");
        out.println("| --- | --- | ---: | ---: | ---: | ---: | --- |");
        ROWS.forEach((name, row) -> {
            JsonNode r = byName.get(name);
            if (r == null) {
                return;
            }
            JsonNode m = r.path("primaryMetric");
            JsonNode pct = m.path("scorePercentiles");
            String label = row.label();
            if (name.endsWith("File")) {
                double kb = r.path("params").path("fileKb").asDouble();
                double seconds = pct.path("50.0").asDouble() / 1000;
                label += String.format(" (%.0f KiB; %.1f MiB/s at p50)", kb, kb / 1024 / seconds);
            }
            out.printf("| %s | %s | %.1f | %.1f | %.1f | %d | %s |%n", label, params(r), pct.path("50.0").asDouble(),
                    pct.path("99.0").asDouble(), pct.path("100.0").asDouble(), samples(m),
                    row.target() == null ? "" : row.target());
        });
        ratios(byName, "qemuMicrovmBoot", "QEMU microvm boot", new String[] {"coldBoot", "fromTemplate"}, out);
        ratios(byName, "qemuMicrovmBootPython", "QEMU microvm boot of python",
                new String[] {"coldBootPython", "fromPythonTemplate"}, out);
    }

    private static void ratios(Map<String, JsonNode> byName, String qemuName, String qemuLabel, String[] oursNames,
                               PrintStream out) {
        JsonNode qemu = byName.get("KvmCreateBenchmark." + qemuName);
        if (qemu != null) {
            double q = p50(qemu);
            for (String ours : oursNames) {
                JsonNode r = byName.get("KvmCreateBenchmark." + ours);
                if (r != null) {
                    out.printf("%s / %s, p50: %.2f%s%n", ours, qemuLabel, p50(r) / q,
                            ours.equals("coldBoot") ? " (target: <= 0.5)" : "");
                }
            }
        }
    }

    private static double p50(JsonNode r) {
        return r.path("primaryMetric").path("scorePercentiles").path("50.0").asDouble();
    }

    private static String params(JsonNode r) {
        StringBuilder s = new StringBuilder();
        r.path("params").properties().forEach(e -> s.append(s.isEmpty() ? "" : ", ").append(e.getKey()).append('=')
                .append(e.getValue().asText()));
        return s.toString();
    }

    // SampleTime raw data are histograms (value, count); SingleShotTime's are plain values.
    private static long samples(JsonNode m) {
        long n = 0;
        JsonNode hist = m.path("rawDataHistogram");
        if (hist.isArray() && !hist.isEmpty()) {
            for (JsonNode fork : hist) {
                for (JsonNode iteration : fork) {
                    for (JsonNode bucket : iteration) {
                        n += bucket.path(1).asLong();
                    }
                }
            }
            return n;
        }
        for (JsonNode fork : m.path("rawData")) {
            n += fork.size();
        }
        return n;
    }
}
