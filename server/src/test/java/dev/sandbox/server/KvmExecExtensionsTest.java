package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.server.ApiClient.Response;
import dev.sandbox.server.ApiClient.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 17's exec extensions on a real sandbox, through HTTP: env, cwd and stdin reach the guest process; a
 * missing cwd is a 400; exec/stream delivers the first line while the command still runs and the exit line last;
 * a large output streams whole through the bounded buffer; a pause ends a stream with an error line; /metrics
 * counts it all. One boot. Needs /dev/kvm and {@code -Dsandbox.guest.dir}.
 */
@Tag("kvm")
class KvmExecExtensionsTest {

    private static final int MIB = 1024 * 1024;

    @Test
    void envCwdStdinAndStreamsOnARealGuest(@TempDir Path dir) {
        ServerConfig config = TestServers.config(dir.resolve("state")).withLimits(TestServers.MAX_FILE_BYTES, 16 * MIB);
        try (RealServer real = RealServer.start(dir, config)) {
            ApiClient api = real.api();
            Response created = api.create("{\"memory_mb\":256}");
            assertEquals(201, created.status(), created.text());
            String id = created.json().get("id").asText();

            assertEquals(204, api.upload(id, "/work/dir/marker", new byte[] {1}).status());
            JsonNode r = api.exec(id, """
                    {"cmd":"/bin/sh","args":["-c","echo \\"$GREETING\\"; pwd; cat; echo \\"$PATH\\""],
                     "env":{"GREETING":"hello from env"},"cwd":"/work/dir","stdin":"from stdin\\n"}""").json();
            assertEquals(0, r.get("exit_code").asInt(), r.toString());
            String[] out = r.get("stdout").asText().split("\n");
            assertEquals("hello from env", out[0], r.toString());
            assertEquals("/work/dir", out[1]);
            assertEquals("from stdin", out[2]);
            assertFalse(out[3].isEmpty(), "the agent's own environment is kept (PATH): " + r);

            Response noDir = api.exec(id, "{\"cmd\":\"true\",\"cwd\":\"/no/such/dir\"}");
            assertEquals(400, noDir.status(), noDir.text());
            assertTrue(noDir.text().contains("no such directory"), noDir.text());
            try (Stream s = api.stream(id, "{\"cmd\":\"true\",\"cwd\":\"/no/such/dir\"}")) {
                assertEquals(400, s.status(), s.response().text());
            }
            try (Stream s = api.stream(id, "{\"cmd\":\"true\",\"cwd\":\"/work/dir/marker\"}")) {
                assertEquals(400, s.status(), s.response().text());
                assertTrue(s.response().text().contains("not a directory"), s.response().text());
            }

            firstLineBeforeTheEnd(api, id);
            largeOutputStreamsWhole(api, id);
            streamWithEnvCwdStdin(api, id);
            aPauseEndsTheStream(api, id);

            Response m = api.raw("GET", "/metrics", null, java.net.http.HttpRequest.BodyPublishers.noBody());
            assertEquals(200, m.status());
            Map<String, Double> v = PrometheusText.parse(m.text());
            assertTrue(v.get("sandbox_execs_total{endpoint=\"exec_stream\",result=\"exited\"}") >= 3, m.text());
            assertTrue(v.get("sandbox_file_bytes_total{direction=\"upload\"}") >= 1, m.text());
            assertEquals(1.0, v.get("sandbox_sandboxes{state=\"running\"}"), m.text());
            assertEquals(1.0, v.get("sandbox_snapshot_bytes_count"), m.text());
            assertTrue(v.get("sandbox_snapshot_bytes_sum") > 0, m.text());
            // the agent's vsock device is MMIO: every exec and transfer here made such exits
            assertTrue(v.get("sandbox_vm_exits_total{kind=\"mmio\"}") > 0, m.text());
            System.out.printf("the pause wrote %.0f bytes%n", v.get("sandbox_snapshot_bytes_sum"));
            assertEquals(204, api.delete(SandboxApiTest.SANDBOX, id).status());
        }
    }

    /**
     * {@code echo a; sleep 3; echo b}: the first line must come well before the exit line (over a second: the
     * nested host delays the first line's arrival by hundreds of milliseconds; with {@code sleep 2} the gap was
     * measured at 1.1 to 1.6 s, too close to call).
     */
    private static void firstLineBeforeTheEnd(ApiClient api, String id) {
        List<Long> at = new ArrayList<>();
        List<JsonNode> events = new ArrayList<>();
        try (Stream s = api.stream(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"echo a; sleep 3; echo b\"]}")) {
            assertEquals(200, s.status(), s.response().text());
            JsonNode e;
            while ((e = s.next(SandboxApiTest.CONTRACT)) != null) {
                at.add(System.nanoTime());
                events.add(e);
            }
        }
        assertTrue(events.size() >= 3, events.toString());
        assertEquals("stdout", events.getFirst().get("type").asText());
        assertEquals("a\n", decode(events.getFirst()));
        JsonNode exit = events.getLast();
        assertEquals("exit", exit.get("type").asText(), events.toString());
        assertEquals(0, exit.get("exit_code").asInt());
        for (JsonNode e : events.subList(0, events.size() - 1)) {
            assertEquals("stdout", e.get("type").asText(), "only output before the exit: " + events);
        }
        long gapMs = (at.getLast() - at.getFirst()) / 1_000_000;
        System.out.printf("exec/stream: first line %d ms before the exit line%n", gapMs);
        assertTrue(gapMs > 1000, "the first line came only " + gapMs + " ms before the exit: not streamed");
    }

    /** 8 MiB through the 256 KiB buffer and the vsock credit, every byte, nothing dropped. */
    private static void largeOutputStreamsWhole(ApiClient api, String id) {
        long bytes = 0;
        JsonNode last = null;
        long t0 = System.nanoTime();
        try (Stream s = api.stream(id, "{\"cmd\":\"head\",\"args\":[\"-c\",\"" + 8 * MIB + "\",\"/dev/zero\"],"
                + "\"timeout_sec\":600}")) {
            assertEquals(200, s.status(), s.response().text());
            JsonNode e;
            while ((e = s.next(SandboxApiTest.CONTRACT)) != null) {
                if (e.get("type").asText().equals("stdout")) {
                    byte[] data = Base64.getDecoder().decode(e.get("data").asText());
                    int or = 0;
                    for (byte b : data) {
                        or |= b;
                    }
                    assertEquals(0, or, "only zeros come out of /dev/zero");
                    bytes += data.length;
                } else {
                    assertNull(last, "one last event");
                    last = e;
                }
            }
        }
        System.out.printf("exec/stream: 8 MiB in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        assertEquals(8L * MIB, bytes);
        assertEquals("exit", last.get("type").asText(), last.toString());
        assertFalse(last.get("truncated").asBoolean());
    }

    private static void streamWithEnvCwdStdin(ApiClient api, String id) {
        StringBuilder out = new StringBuilder();
        try (Stream s = api.stream(id, """
                {"cmd":"/bin/sh","args":["-c","echo \\"$X\\"; pwd; cat"],"env":{"X":"streamed env"},
                 "cwd":"/work","stdin":"streamed stdin"}""")) {
            assertEquals(200, s.status(), s.response().text());
            JsonNode e;
            while ((e = s.next(SandboxApiTest.CONTRACT)) != null) {
                if (e.get("type").asText().equals("stdout")) {
                    out.append(decode(e));
                } else {
                    assertEquals("exit", e.get("type").asText(), e.toString());
                }
            }
        }
        assertEquals("streamed env\n/work\nstreamed stdin", out.toString());
    }

    private static void aPauseEndsTheStream(ApiClient api, String id) {
        assertTimeoutPreemptively(Duration.ofMinutes(5), () -> {
            try (Stream s = api.stream(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"echo up; sleep 600\"],"
                    + "\"timeout_sec\":900}")) {
                assertEquals(200, s.status(), s.response().text());
                assertEquals("up\n", decode(s.next(SandboxApiTest.CONTRACT)));
                assertEquals(200, api.post(SandboxApiTest.PAUSE, id, null).status());
                JsonNode last = s.next(SandboxApiTest.CONTRACT);
                assertEquals("error", last.get("type").asText(), last.toString());
                assertEquals("invalid_state", last.get("code").asText());
                assertNull(s.next(SandboxApiTest.CONTRACT));
            }
        });
        assertEquals(200, api.post(SandboxApiTest.RESUME, id, null).status());
        Response ok = api.exec(id, "{\"cmd\":\"echo\",\"args\":[\"after\"]}");
        assertEquals("after\n", ok.json().get("stdout").asText(), ok.text());
    }

    private static String decode(JsonNode event) {
        return new String(Base64.getDecoder().decode(event.get("data").asText()), StandardCharsets.UTF_8);
    }
}
