package dev.sandbox.jmh;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The KVM benchmark table from JMH's JSON: rows, percentiles, sample counts, throughput and the QEMU ratio. */
class KvmBenchReportTest {

    private static String singleShot(String method, double p50, double p99, int samples) {
        StringBuilder raw = new StringBuilder("[[");
        for (int i = 0; i < samples; i++) {
            raw.append(i == 0 ? "" : ",").append(p50);
        }
        raw.append("]]");
        return """
                {"benchmark":"dev.sandbox.jmh.KvmCreateBenchmark.%s","mode":"ss","params":{"memoryMb":"256"},
                 "primaryMetric":{"scorePercentiles":{"50.0":%s,"99.0":%s,"100.0":%s},"rawData":%s}}
                """.formatted(method, p50, p99, p99, raw);
    }

    @Test
    void printsRowsWithTargetsAndTheQemuRatio() throws Exception {
        String json = "[" + singleShot("coldBoot", 200, 260, 10) + "," + singleShot("fromTemplate", 20, 30, 10) + ","
                + singleShot("qemuMicrovmBoot", 400, 450, 10) + ","
                + """
                {"benchmark":"dev.sandbox.jmh.KvmSandboxBenchmark.writeFile","mode":"sample",
                 "params":{"fileKb":"1024","clone":"true"},
                 "primaryMetric":{"scorePercentiles":{"50.0":100.0,"99.0":150.0,"100.0":180.0},
                   "rawDataHistogram":[[[[100.0,7],[150.0,3]],[[100.0,5]]]]}}
                """ + "]";
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        KvmBenchReport.print(new ObjectMapper().readTree(json), new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains(
                "| create, cold boot to agent-ready | memoryMb=256 | 200.0 | 260.0 | 260.0 | 10 | <= 100 ms |"), out);
        assertTrue(out.contains(
                "file write (1024 KiB; 10.0 MiB/s at p50) | fileKb=1024, clone=true | 100.0 | 150.0 | 180.0 | 15 |"), out);
        assertTrue(out.contains("coldBoot / QEMU microvm boot, p50: 0.50 (target: <= 0.5)"), out);
        assertTrue(out.contains("fromTemplate / QEMU microvm boot, p50: 0.05"), out);
        assertFalse(out.contains("pause"), "no row for a benchmark that did not run: " + out);
    }
}
