package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.engine.agent.ExecRequest;
import dev.sandbox.server.ApiClient.Response;
import dev.sandbox.server.ApiClient.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 17's exec extensions over real HTTP with {@link FakeEngine}: env, cwd and stdin on exec and exec/stream,
 * their bad inputs, the NDJSON stream (lines as output comes, exit last, refusals as plain errors), a stream ended
 * by a pause or destroy, and a client that goes away releasing the exec.
 */
class ExecExtensionsTest {

    static final ContractValidator CONTRACT = new ContractValidator();
    /** Longer than any test waits: a pause that waited it out for a stream would fail the test. */
    static final Duration LONG_GRACE = Duration.ofMinutes(5);
    /** Above the stream buffer and the sockets' buffers, so that backpressure is what holds output back. */
    static final int CAP = 64 * 1024 * 1024;
    static FakeEngine engine;
    static SandboxServer server;
    static ApiClient api;

    @BeforeAll
    static void start(@TempDir Path data) {
        engine = new FakeEngine(data.resolve("fake-vms"));
        server = TestServers.start(TestServers.config(data.resolve("state")).withLimits(TestServers.MAX_FILE_BYTES, CAP)
                .withDrainGrace(LONG_GRACE, 2), engine);
        api = new ApiClient(server.port(), CONTRACT);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static Path folder(String id) {
        return engine.config().dataDir().resolve(id);
    }

    @Test
    void envCwdAndStdinReachTheCommand() throws Exception {
        String id = SandboxApiTest.createRunning(api);
        Files.createDirectories(folder(id).resolve("work/sub"));
        String body = """
                {"cmd":"/bin/sh","args":["-c","echo \\"$GREETING|$OTHER\\"; pwd; cat"],
                 "env":{"GREETING":"hi there","OTHER":"x=y"},"cwd":"/work/sub","stdin":"line one\\nline two\\n"}""";
        Response r = api.exec(id, body);
        assertEquals(200, r.status(), r.text());
        String[] out = r.json().get("stdout").asText().split("\n");
        assertEquals("hi there|x=y", out[0]);
        assertTrue(out[1].endsWith("/" + id + "/work/sub"), out[1]);
        assertEquals("line one", out[2]);
        assertEquals("line two", out[3]);
        ExecRequest seen = engine.lastExec;
        assertEquals(Map.of("GREETING", "hi there", "OTHER", "x=y"), seen.env());
        assertEquals("/work/sub", seen.cwd());
        assertEquals("line one\nline two\n", new String(seen.stdin(), StandardCharsets.UTF_8));
    }

    @Test
    void withoutTheExtensionsNothingChanges() {
        String id = SandboxApiTest.createRunning(api);
        Response r = api.exec(id, "{\"cmd\":\"cat\"}");
        assertEquals(200, r.status(), r.text());
        assertEquals("", r.json().get("stdout").asText());  // stdin empty and closed: cat ends at once
        assertNull(engine.lastExec.cwd());
        assertTrue(engine.lastExec.env().isEmpty());
        assertEquals(0, engine.lastExec.stdin().length);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "\"env\":{\"A\":1}", "\"env\":{\"A\":null}", "\"env\":{\"A\":[\"x\"]}", "\"env\":[\"A=1\"]", "\"env\":\"A=1\"",
        "\"env\":{\"1A\":\"x\"}", "\"env\":{\"A=B\":\"x\"}", "\"env\":{\"\":\"x\"}", "\"env\":{\"A B\":\"x\"}",
        "\"env\":{\"A\":\"x\\u0000y\"}", "\"cwd\":\"tmp\"", "\"cwd\":\"\"", "\"cwd\":\"./x\"", "\"cwd\":5",
        "\"cwd\":\"/a\\u0000b\"", "\"stdin\":5", "\"stdin\":[\"x\"]"})
    void badExtensionsAre400OnBothEndpoints(String field) {
        String id = SandboxApiTest.createRunning(api);
        String body = "{\"cmd\":\"true\"," + field + "}";
        Response r = api.exec(id, body);
        assertEquals(400, r.status(), field + " → " + r.text());
        assertEquals("bad_request", r.errorCode());
        try (Stream s = api.stream(id, body)) {
            assertEquals(400, s.status(), field);
            assertEquals("bad_request", s.response().errorCode());
        }
    }

    @Test
    void aMissingCwdIsAClear400BeforeAnythingRuns() {
        String id = SandboxApiTest.createRunning(api);
        String body = "{\"cmd\":\"touch\",\"args\":[\"/should-not-exist\"],\"cwd\":\"/no/such/dir\"}";
        Response r = api.exec(id, body);
        assertEquals(400, r.status(), r.text());
        assertTrue(r.json().path("error").path("message").asText().contains("no such directory"), r.text());
        try (Stream s = api.stream(id, body)) {
            assertEquals(400, s.status());
            assertTrue(s.response().text().contains("no such directory"), s.response().text());
        }
        assertTrue(api.upload(id, "/file", new byte[] {1}).status() == 204);
        String onFile = "{\"cmd\":\"true\",\"cwd\":\"/file\"}";
        assertEquals(400, api.exec(id, onFile).status());
        try (Stream s = api.stream(id, onFile)) {
            assertEquals(400, s.status());
            assertTrue(s.response().text().contains("not a directory"), s.response().text());
        }
    }

    @Test
    void tooMuchForOneAgentFrameIs413() {
        String id = SandboxApiTest.createRunning(api);
        StringBuilder body = new StringBuilder("{\"cmd\":\"true\",\"args\":[\"\"");
        body.append(",\"\"".repeat(300_000));  // 0.9 MB of JSON, 1.2 MB in the agent's frame
        body.append("]}");
        Response r = api.exec(id, body.toString());
        assertEquals(413, r.status(), r.text());
        assertEquals("too_large", r.errorCode());
    }

    @Test
    void streamSendsEachLineAsTheOutputComesAndTheExitLast() {
        String id = SandboxApiTest.createRunning(api);
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> streamLineByLine(id),
                "the first line did not come before the command ended");
    }

    private static void streamLineByLine(String id) throws Exception {
        // The command waits for a file that the test creates only after it has read the first line: the first
        // line cannot have come with the rest at the end.
        String body = """
                {"cmd":"/bin/sh","args":["-c","echo first; while [ ! -e go ]; do sleep 0.05; done; echo oops >&2; printf second"],
                 "timeout_sec":60}""";
        try (Stream s = api.stream(id, body)) {
            assertEquals(200, s.status());
            JsonNode first = s.next(CONTRACT);
            assertEquals("stdout", first.get("type").asText());
            assertEquals("first\n", decode(first));
            List<JsonNode> events = new ArrayList<>();
            Files.writeString(folder(id).resolve("go"), "");
            JsonNode e;
            while ((e = s.next(CONTRACT)) != null) {
                events.add(e);
            }
            JsonNode exit = events.getLast();
            assertEquals("exit", exit.get("type").asText(), events.toString());
            assertEquals(0, exit.get("exit_code").asInt());
            assertFalse(exit.get("timed_out").asBoolean());
            assertFalse(exit.get("truncated").asBoolean());
            StringBuilder out = new StringBuilder("first\n");
            StringBuilder err = new StringBuilder();
            for (JsonNode ev : events.subList(0, events.size() - 1)) {
                (ev.get("type").asText().equals("stdout") ? out : err).append(decode(ev));
            }
            assertEquals("first\nsecond", out.toString());
            assertEquals("oops\n", err.toString());
        }
    }

    @Test
    void streamCarriesEnvCwdStdinAndBinaryOutput() throws Exception {
        String id = SandboxApiTest.createRunning(api);
        Files.createDirectories(folder(id).resolve("d"));
        String body = """
                {"cmd":"/bin/sh","args":["-c","printf '%s:' \\"$V\\"; basename \\"$PWD\\"; cat; printf '\\\\377\\\\000'"],
                 "env":{"V":"val"},"cwd":"/d","stdin":"in"}""";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        JsonNode last = null;
        try (Stream s = api.stream(id, body)) {
            assertEquals(200, s.status());
            JsonNode e;
            while ((e = s.next(CONTRACT)) != null) {
                assertNull(last, "nothing after the last event");
                if (e.get("type").asText().equals("stdout")) {
                    out.writeBytes(Base64.getDecoder().decode(e.get("data").asText()));
                } else {
                    last = e;
                }
            }
        }
        assertNotNull(last);
        assertEquals("exit", last.get("type").asText());
        byte[] expected = "val:d\nin\u00ff\u0000".getBytes(StandardCharsets.ISO_8859_1);
        assertEquals(new String(expected, StandardCharsets.ISO_8859_1), out.toString(StandardCharsets.ISO_8859_1));
    }

    @Test
    void streamTimeoutAndCapShowInTheExitLine() {
        String id = SandboxApiTest.createRunning(api);
        JsonNode exit = lastEvent(id, "{\"cmd\":\"sleep\",\"args\":[\"30\"],\"timeout_sec\":1}");
        assertEquals(124, exit.get("exit_code").asInt());
        assertTrue(exit.get("timed_out").asBoolean());
        int over = CAP + 1000;
        exit = lastEvent(id, "{\"cmd\":\"head\",\"args\":[\"-c\",\"" + over + "\",\"/dev/zero\"]}");
        assertTrue(exit.get("truncated").asBoolean(), exit.toString());
    }

    @Test
    void aReaderThatDoesNotReadHoldsTheCommandBack() throws Exception {
        String id = SandboxApiTest.createRunning(api);
        long total = 48L * 1024 * 1024;  // far more than the pipe, the stream's buffer and the socket buffers hold
        Path finished = folder(id).resolve("finished");
        try (Stream s = api.stream(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"head -c " + total
                + " /dev/zero; touch finished\"],\"timeout_sec\":300}")) {
            assertEquals(200, s.status());
            long read = Base64.getDecoder().decode(s.next(CONTRACT).get("data").asText()).length;
            Thread.sleep(2000);  // nobody reads: without backpressure 48 MiB pile up in the server in far less
            assertFalse(Files.exists(finished), "the command ran to its end while nobody read its output");
            JsonNode e;
            JsonNode last = null;
            while ((e = s.next(CONTRACT)) != null) {
                if (e.get("type").asText().equals("stdout")) {
                    read += Base64.getDecoder().decode(e.get("data").asText()).length;
                } else {
                    last = e;
                }
            }
            assertEquals(total, read, "every byte came, none dropped");
            assertEquals("exit", last.get("type").asText(), last.toString());
            assertFalse(last.get("truncated").asBoolean());
        }
        assertTrue(Files.exists(finished));
    }

    @Test
    void streamRefusalsArePlainErrors() {
        try (Stream s = api.stream("sb-00000000", "{\"cmd\":\"true\"}")) {
            assertEquals(404, s.status());
            assertEquals("not_found", s.response().errorCode());
        }
        String id = SandboxApiTest.createRunning(api);
        assertEquals(200, api.post(SandboxApiTest.PAUSE, id, null).status());
        try (Stream s = api.stream(id, "{\"cmd\":\"true\"}")) {
            assertEquals(409, s.status());
            assertEquals("invalid_state", s.response().errorCode());
        }
        try (Stream s = api.stream(id, "not json")) {
            assertEquals(400, s.status());
        }
    }

    @Test
    void aPauseEndsAStreamAtOnceWithAnErrorLine() {
        streamEndedBy(id -> assertEquals(200, api.post(SandboxApiTest.PAUSE, id, null).status()));
    }

    @Test
    void aDestroyEndsAStreamAtOnceWithAnErrorLine() {
        streamEndedBy(id -> assertEquals(204, api.delete(SandboxApiTest.SANDBOX, id).status()));
    }

    private void streamEndedBy(java.util.function.Consumer<String> step) {
        String id = SandboxApiTest.createRunning(api);
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (Stream s = api.stream(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"echo up; sleep 600\"],"
                    + "\"timeout_sec\":900}")) {
                assertEquals(200, s.status());
                assertEquals("up\n", decode(s.next(CONTRACT)));
                step.accept(id);  // with a 5-minute drain grace: this returns only because the stream ended
                JsonNode last = s.next(CONTRACT);
                assertEquals("error", last.get("type").asText(), last.toString());
                assertEquals("invalid_state", last.get("code").asText());
                assertNull(s.next(CONTRACT));
            }
        });
    }

    @Test
    void aClientThatGoesAwayReleasesTheExecAndItsProcess() throws Exception {
        String id = SandboxApiTest.createRunning(api);
        Path pids = folder(id).resolve("pid");
        String loop = "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"echo $$ > pid; while true; do echo tick; sleep 0.05; done\"],"
                + "\"timeout_sec\":900}";
        // two at once is this server's limit (withDrainGrace(.., 2)): both must come back after their clients go
        for (int i = 0; i < 2; i++) {
            Stream s = api.stream(id, loop);
            assertEquals(200, s.status());
            assertEquals("tick\n", decode(s.next(CONTRACT)));
            long pid = Long.parseLong(Files.readString(pids).trim());
            s.close();
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                    Thread.sleep(50);
                }
            }, "the command of a stream whose client left still runs");
        }
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            Response r;
            while ((r = api.exec(id, "{\"cmd\":\"true\"}")).status() == 429) {
                Thread.sleep(50);  // the gate is left a moment after the process dies
            }
            assertEquals(200, r.status(), r.text());
        });
    }

    @Test
    void metricsCountRequestsExecsAndBytes() {
        String id = SandboxApiTest.createRunning(api);
        byte[] file = new byte[12345];
        assertEquals(204, api.upload(id, "/m.bin", file).status());
        assertEquals(200, api.download(id, "/m.bin").status());
        assertEquals(200, api.exec(id, "{\"cmd\":\"true\"}").status());
        lastEvent(id, "{\"cmd\":\"true\"}");
        assertEquals(404, api.raw("GET", "/nope/" + id, null, java.net.http.HttpRequest.BodyPublishers.noBody())
                .status());
        assertEquals(200, api.post(SandboxApiTest.PAUSE, id, null).status());
        SandboxApiTest.createRunning(api);  // one running, one paused at least
        long manifest = engine.find(id).orElseThrow().lastSnapshotBytes().orElseThrow();
        engine.vmExits = Map.of("io", 5L, "mmio", 7L);
        Response m = api.raw("GET", "/metrics", null, java.net.http.HttpRequest.BodyPublishers.noBody());
        engine.vmExits = Map.of();
        assertEquals(200, m.status());
        assertTrue(m.contentType().startsWith("text/plain; version=0.0.4"), m.contentType());
        Map<String, Double> v = PrometheusText.parse(m.text());
        assertTrue(v.get("sandbox_sandboxes{state=\"running\"}") >= 1, m.text());
        String exec = "method=\"POST\",route=\"/v1/sandboxes/{id}/exec\",status_class=\"2xx\"";
        assertTrue(v.get("sandbox_http_requests_total{" + exec + "}") >= 1, m.text());
        assertEquals(v.get("sandbox_http_requests_total{" + exec + "}"),
                v.get("sandbox_http_request_duration_seconds_count{" + exec + "}"));
        assertEquals(v.get("sandbox_http_request_duration_seconds_count{" + exec + "}"),
                v.get("sandbox_http_request_duration_seconds_bucket{" + exec + ",le=\"+Inf\"}"));
        assertTrue(v.get("sandbox_file_bytes_total{direction=\"upload\"}") >= file.length);
        assertTrue(v.get("sandbox_file_bytes_total{direction=\"download\"}") >= file.length);
        assertTrue(v.get("sandbox_execs_total{endpoint=\"exec\",result=\"exited\"}") >= 1);
        assertTrue(v.get("sandbox_execs_total{endpoint=\"exec_stream\",result=\"exited\"}") >= 1);
        assertTrue(v.get("sandbox_http_requests_total{method=\"GET\",route=\"unmatched\",status_class=\"4xx\"}") >= 1,
                "unknown paths share one label value: " + m.text());
        assertFalse(m.text().contains(id), "no sandbox ids in the labels");
        assertTrue(v.get("sandbox_snapshot_bytes_count") >= 1, m.text());
        assertTrue(v.get("sandbox_snapshot_bytes_sum") >= manifest, m.text());
        assertTrue(v.get("sandbox_sandboxes{state=\"paused\"}") >= 1, m.text());
        assertEquals(5.0, v.get("sandbox_vm_exits_total{kind=\"io\"}"), m.text());
        assertEquals(7.0, v.get("sandbox_vm_exits_total{kind=\"mmio\"}"), m.text());
    }

    /** Reads a stream to its end; returns the last event (exit or error). */
    private static JsonNode lastEvent(String id, String body) {
        try (Stream s = api.stream(id, body)) {
            assertEquals(200, s.status());
            JsonNode e;
            JsonNode last = null;
            while ((e = s.next(CONTRACT)) != null) {
                last = e;
            }
            assertNotNull(last);
            assertEquals("exit", last.get("type").asText(), last.toString());
            return last;
        }
    }

    private static String decode(JsonNode event) {
        return new String(Base64.getDecoder().decode(event.get("data").asText()), StandardCharsets.UTF_8);
    }
}
