package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The API over the real KVM engine, end to end through HTTP: one sandbox (each boot is slow in the nested host)
 * taken through the lifecycle, binary output, a timeout, 10 MiB up and down, the 413, 404 and 409 answers and the
 * whole {@link BadInputTest} table, and the server still healthy afterwards.
 * Needs /dev/kvm and {@code -Dsandbox.guest.dir}; tools/test runs it.
 */
@Tag("kvm")
class KvmServerTest {

    private static final int MIB = 1024 * 1024;

    @Test
    void oneSandboxThroughTheWholeApi(@TempDir Path dir) {
        // TestServers.config: uploads and downloads up to 12 MiB (TestServers.MAX_FILE_BYTES)
        try (RealServer real = RealServer.start(dir)) {
            ApiClient api = real.api();

            long t0 = System.nanoTime();
            Response created = api.create("{\"memory_mb\":256}");
            assertEquals(201, created.status(), created.text());
            String id = created.json().get("id").asText();
            assertEquals("running", created.json().get("status").asText());
            System.out.printf("create to running: %d ms%n", ms(t0));

            JsonNode hello = api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"echo hello; uname -s\"]}").json();
            assertEquals("hello\nLinux\n", hello.get("stdout").asText(), hello.toString());
            assertEquals(0, hello.get("exit_code").asInt());

            JsonNode binary = api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"printf '\\\\377'\"]}").json();
            assertEquals("base64", binary.get("encoding").asText());
            assertArrayEquals(new byte[]{(byte) 0xff}, Base64.getDecoder().decode(binary.get("stdout").asText()));

            JsonNode slow = api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"echo a; sleep 30\"],"
                    + "\"timeout_sec\":2}").json();
            assertEquals(124, slow.get("exit_code").asInt(), slow.toString());
            assertTrue(slow.get("timed_out").asBoolean());

            byte[] small = new byte[MIB];
            new Random(7).nextBytes(small);
            assertEquals(204, api.upload(id, "/blob.bin", small).status());
            assertArrayEquals(small, api.download(id, "/blob.bin").body());

            tenMibUpAndDown(api, id);
            uploadsOverTheLimit(api, id);
            downloadOverTheLimit(api, id);

            Response missing = api.download(id, "/no/such/file");
            assertEquals(404, missing.status(), missing.text());
            assertEquals("not_found", missing.errorCode());
            assertEquals(404, api.get(SandboxApiTest.SANDBOX, "sb-deadbeef").status());

            assertEquals("paused", api.post(SandboxApiTest.PAUSE, id, null).json().get("status").asText());
            assertEquals(409, api.exec(id, "{\"cmd\":\"/bin/sh\"}").status());
            assertEquals(409, api.upload(id, "/paused.bin", new byte[]{1}).status());
            assertEquals(409, api.post(SandboxApiTest.PAUSE, id, null).status());
            assertEquals("running", api.post(SandboxApiTest.RESUME, id, null).json().get("status").asText());
            assertEquals(409, api.post(SandboxApiTest.RESUME, id, null).status());
            JsonNode ok = api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"echo ok\"]}").json();
            assertEquals("ok\n", ok.get("stdout").asText(), ok.toString());

            badInputs(api, id);

            Response health = api.health();
            assertEquals(200, health.status(), health.text());
            assertEquals("ok", health.json().get("status").asText(), health.text());
            Response still = api.exec(id, "{\"cmd\":\"echo\",\"args\":[\"still here\"]}");
            assertEquals(200, still.status(), still.text());
            assertEquals("still here\n", still.json().get("stdout").asText(), still.text());
            JsonNode all = api.get(SandboxApiTest.SANDBOXES, null).json();
            assertEquals(List.of(id), all.findValuesAsText("id"), "the bad inputs created no sandbox: " + all);

            assertEquals(204, api.delete(SandboxApiTest.SANDBOX, id).status());
            assertEquals("stopped", api.get(SandboxApiTest.SANDBOX, id).json().get("status").asText());
            assertEquals(409, api.exec(id, "{\"cmd\":\"echo\"}").status());
            assertEquals(204, api.delete(SandboxApiTest.SANDBOX, id).status(), "delete is idempotent");
            assertEquals(200, api.health().status());
        }
    }

    /**
     * Issue 13, section 2: execs, uploads and downloads fired around a pause, a resume and a delete of a real
     * sandbox answer 200/204 or 409 with the error body: never 502, never a dropped connection. One boot.
     */
    @Test
    void callsRacingPauseResumeAndDeleteGet409NotBadGateway(@TempDir Path dir) throws Exception {
        try (RealServer real = RealServer.start(dir)) {
            ApiClient api = real.api();
            Response created = api.create("{\"memory_mb\":128}");
            assertEquals(201, created.status(), created.text());
            String id = created.json().get("id").asText();
            byte[] data = new byte[256 * 1024];
            new Random(5).nextBytes(data);
            assertEquals(204, api.upload(id, "/race.bin", data).status());
            List<String> bad = new java.util.concurrent.CopyOnWriteArrayList<>();
            java.util.Map<Integer, Integer> seen = new java.util.concurrent.ConcurrentSkipListMap<>();
            String[] steps = {SandboxApiTest.PAUSE, SandboxApiTest.RESUME, SandboxApiTest.SANDBOX};
            int[] expected = {200, 200, 204};
            for (int s = 0; s < steps.length; s++) {
                List<Thread> calls = new ArrayList<>();
                for (int i = 0; i < 6; i++) {
                    int kind = i % 3;
                    long delayMs = i * 40L;
                    calls.add(Thread.ofVirtual().start(() -> {
                        try {
                            Thread.sleep(delayMs);
                            Response r = switch (kind) {
                                case 0 -> api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"echo hi\"]}");
                                case 1 -> api.upload(id, "/up-" + delayMs + ".bin", data);
                                default -> api.download(id, "/race.bin");
                            };
                            seen.merge(r.status(), 1, Integer::sum);
                            if (r.status() >= 500 || (r.status() != 409 && r.status() >= 300)) {
                                bad.add(kind + ": " + r.status() + " " + r.text());
                            } else if (r.status() == 409 && !"invalid_state".equals(r.errorCode())) {
                                bad.add(kind + ": 409 with " + r.text());
                            } else if (kind == 2 && r.status() == 200 && !java.util.Arrays.equals(data, r.body())) {
                                bad.add("download: wrong content, " + r.body().length + " bytes");
                            }
                        } catch (RuntimeException | InterruptedException | AssertionError e) {
                            bad.add(kind + ": " + e);  // a dropped connection lands here
                        }
                    }));
                }
                Thread.sleep(60);
                Response step = steps[s].equals(SandboxApiTest.SANDBOX) ? api.delete(steps[s], id)
                        : api.post(steps[s], id, null);
                assertEquals(expected[s], step.status(), steps[s] + ": " + step.text());
                for (Thread t : calls) {
                    t.join(Duration.ofMinutes(3));
                }
            }
            System.out.println("statuses of the calls racing pause, resume and delete: " + seen);
            assertTrue(bad.isEmpty(), String.join("\n", bad));
            assertEquals(200, api.health().status());
        }
    }

    /** A 10 MiB random file up and back down, byte for byte. */
    private static void tenMibUpAndDown(ApiClient api, String id) {
        byte[] data = new byte[10 * MIB];
        new Random(10).nextBytes(data);
        long t0 = System.nanoTime();
        Response up = api.upload(id, "/ten.bin", data);
        long upMs = ms(t0);
        assertEquals(204, up.status(), up.text());
        long t1 = System.nanoTime();
        Response down = api.download(id, "/ten.bin");
        long downMs = ms(t1);
        assertEquals(200, down.status(), down.text());
        assertEquals(data.length, down.body().length);
        assertArrayEquals(data, down.body(), "download equals upload");
        System.out.printf("10 MiB upload %d ms (%.1f MiB/s), download %d ms (%.1f MiB/s)%n", upMs,
                10_000.0 / Math.max(1, upMs), downMs, 10_000.0 / Math.max(1, downMs));
        JsonNode size = api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"wc -c < /ten.bin; rm /ten.bin\"]}")
                .json();
        assertEquals(String.valueOf(data.length), size.get("stdout").asText().trim(), size.toString());
    }

    /**
     * 13 MiB against the 12 MiB limit: once chunked (found while streaming into the guest, the write abandoned
     * there) and once with a Content-Length (refused before reading). Nothing is left at the target either time.
     */
    private static void uploadsOverTheLimit(ApiClient api, String id) {
        assertEquals(12L * MIB, TestServers.MAX_FILE_BYTES, "the server's file limit");
        byte[] big = new byte[13 * MIB];
        new Random(13).nextBytes(big);

        long t0 = System.nanoTime();
        Response streamed = api.uploadChunked(id, "/big.bin", big);
        long streamedMs = ms(t0);
        assertEquals(413, streamed.status(), streamed.text());
        assertEquals("too_large", streamed.errorCode(), streamed.text());
        assertEquals(404, api.download(id, "/big.bin").status(), "nothing half-written");

        long t1 = System.nanoTime();
        Response declared = api.upload(id, "/big.bin", big);
        long declaredMs = ms(t1);
        assertEquals(413, declared.status(), declared.text());
        assertEquals("too_large", declared.errorCode(), declared.text());
        assertEquals(404, api.download(id, "/big.bin").status(), "nothing written");
        System.out.printf("13 MiB upload refused with 413: chunked %d ms, with Content-Length %d ms%n",
                streamedMs, declaredMs);

        // the sandbox and the server carry on; no temporary file is left next to the target either
        JsonNode ls = api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"ls -a /\"]}").json();
        assertEquals(0, ls.get("exit_code").asInt(), ls.toString());
        String names = ls.get("stdout").asText();
        assertTrue(!names.contains("big.bin") && !names.contains(".sbx-upload"), "leftovers in /: " + names);
        assertEquals(204, api.upload(id, "/after.txt", "after 413".getBytes()).status());
        assertEquals("after 413", api.download(id, "/after.txt").text());
    }

    /** A file in the guest over the limit is refused before any byte is sent. */
    private static void downloadOverTheLimit(ApiClient api, String id) {
        JsonNode made = api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"head -c "
                + (TestServers.MAX_FILE_BYTES + 1) + " /dev/zero > /huge\"]}").json();
        assertEquals(0, made.get("exit_code").asInt(), made.toString());
        Response r = api.download(id, "/huge");
        assertEquals(413, r.status(), r.text());
        assertEquals("too_large", r.errorCode());
        assertEquals(0, api.exec(id, "{\"cmd\":\"rm\",\"args\":[\"/huge\"]}").json().get("exit_code").asInt());
    }

    /** Every case of BadInputTest's table against the real sandbox; all failures reported together. */
    private static void badInputs(ApiClient api, String id) {
        List<BadInputTest.Case> cases = BadInputTest.cases();
        assertTrue(cases.size() >= 30, "at least 30 bad inputs, got " + cases.size());
        List<String> failures = new ArrayList<>();
        long t0 = System.nanoTime();
        for (BadInputTest.Case c : cases) {
            assertTrue(c.status() >= 400 && c.status() < 500, c.name());
            try {
                BadInputTest.check(api, id, c);
            } catch (AssertionError | RuntimeException e) {
                failures.add(c.name() + ": " + e.getMessage());
            }
        }
        System.out.printf("%d bad inputs against the real sandbox: %d answered as expected, %d ms%n",
                cases.size(), cases.size() - failures.size(), ms(t0));
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    private static long ms(long since) {
        return (System.nanoTime() - since) / 1_000_000;
    }
}
