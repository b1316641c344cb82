package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The API end to end over real HTTP, real routing and a real Chronicle Map, with {@link FakeEngine} (a test double
 * running host processes) in place of KVM. Every response is validated against the contract by {@link ApiClient}.
 */
class SandboxApiTest {

    static final String SANDBOXES = "/v1/sandboxes";
    static final String SANDBOX = "/v1/sandboxes/{id}";
    static final String EXEC = "/v1/sandboxes/{id}/exec";
    static final String PAUSE = "/v1/sandboxes/{id}/pause";
    static final String RESUME = "/v1/sandboxes/{id}/resume";
    static final String WRITE = "/v1/sandboxes/{id}/files/write";
    static final String READ = "/v1/sandboxes/{id}/files/read";

    static final ContractValidator CONTRACT = new ContractValidator();
    static FakeEngine engine;
    static SandboxServer server;
    static ApiClient api;

    @BeforeAll
    static void start(@TempDir Path data) {
        engine = new FakeEngine(data.resolve("fake-vms"));
        server = TestServers.start(TestServers.config(data.resolve("state")), engine);
        api = new ApiClient(server.port(), CONTRACT);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static String createRunning() {
        return createRunning(api);
    }

    static String createRunning(ApiClient api) {
        Response r = api.create("{}");
        assertEquals(201, r.status(), r.text());
        return r.json().get("id").asText();
    }

    static JsonNode execOk(String id, String json) {
        Response r = api.exec(id, json);
        assertEquals(200, r.status(), r.text());
        return r.json();
    }

    @Test
    void fullLifecycle() throws Exception {
        Response created = api.create("{\"timeout_sec\": 120, \"unknown_field\": {\"ignored\": true}}");
        assertEquals(201, created.status(), created.text());
        JsonNode sb = created.json();
        String id = sb.get("id").asText();
        assertTrue(id.matches("sb-[0-9a-f]{8,}"), id);
        assertEquals("running", sb.get("status").asText());
        assertEquals("minimal", sb.get("template").asText());
        assertEquals(1, sb.get("vcpus").asInt());
        assertEquals(512, sb.get("memory_mb").asInt());
        assertEquals(120, sb.get("timeout_sec").asInt());
        assertTrue(sb.get("created_at").asText().endsWith("Z"), sb.toString());
        Instant lastActive = Instant.parse(sb.get("last_active_at").asText());

        assertEquals(sb, api.get(SANDBOX, id).json());
        assertTrue(api.get(SANDBOXES, null).json().findValuesAsText("id").contains(id));

        Thread.sleep(5);
        JsonNode out = execOk(id, "{\"cmd\":\"echo\",\"args\":[\"hello\",\"wörld\"]}");
        assertEquals(id, out.get("sandbox_id").asText());
        assertEquals("echo", out.get("cmd").asText());
        assertEquals("hello wörld\n", out.get("stdout").asText());
        assertEquals("", out.get("stderr").asText());
        assertEquals(0, out.get("exit_code").asInt());
        assertEquals("utf-8", out.get("encoding").asText());
        assertFalse(out.get("timed_out").asBoolean());
        assertTrue(out.get("duration_ms").canConvertToLong());
        Instant moved = Instant.parse(api.get(SANDBOX, id).json().get("last_active_at").asText());
        assertTrue(moved.isAfter(lastActive), lastActive + " then " + moved);

        JsonNode failed = execOk(id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"echo oops >&2; exit 3\"]}");
        assertEquals(3, failed.get("exit_code").asInt());
        assertEquals("oops\n", failed.get("stderr").asText());

        assertEquals("paused", api.post(PAUSE, id, null).json().get("status").asText());
        assertConflict(api.post(PAUSE, id, null));
        assertConflict(api.exec(id, "{\"cmd\":\"true\"}"));
        assertConflict(api.upload(id, "/x", new byte[1]));
        assertConflict(api.download(id, "/x"));
        assertEquals("running", api.post(RESUME, id, null).json().get("status").asText());
        assertConflict(api.post(RESUME, id, null));
        assertEquals(0, execOk(id, "{\"cmd\":\"true\"}").get("exit_code").asInt());

        assertEquals(204, api.delete(SANDBOX, id).status());
        assertEquals("stopped", api.get(SANDBOX, id).json().get("status").asText());
        assertConflict(api.exec(id, "{\"cmd\":\"true\"}"));
        assertConflict(api.post(PAUSE, id, null));
        assertConflict(api.post(RESUME, id, null));
        assertEquals(204, api.delete(SANDBOX, id).status(), "destroy is idempotent");
    }

    private static void assertConflict(Response r) {
        assertEquals(409, r.status(), r.text());
        assertEquals("invalid_state", r.errorCode());
    }

    @Test
    void binaryOutputComesAsBase64() {
        String id = createRunning();
        JsonNode out = execOk(id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"printf '\\\\377\\\\376ab'; printf ok >&2\"]}");
        assertEquals("base64", out.get("encoding").asText());
        assertArrayEquals(new byte[]{(byte) 0xff, (byte) 0xfe, 'a', 'b'},
                Base64.getDecoder().decode(out.get("stdout").asText()));
        assertEquals("ok", new String(Base64.getDecoder().decode(out.get("stderr").asText()),
                StandardCharsets.UTF_8), "both streams base64 when either is binary");
    }

    @Test
    void timeoutAnswers124WithOutputSoFar() {
        String id = createRunning();
        long start = System.nanoTime();
        JsonNode out = execOk(id,
                "{\"cmd\":\"sh\",\"args\":[\"-c\",\"echo before; sleep 30\"],\"timeout_sec\":1}");
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertEquals(124, out.get("exit_code").asInt());
        assertTrue(out.get("timed_out").asBoolean());
        assertEquals("before\n", out.get("stdout").asText());
        assertTrue(ms < 10_000, "took " + ms + " ms");
    }

    @Test
    void outputOverTheCapIsTruncatedAndFlagged() {
        String id = createRunning();
        JsonNode out = execOk(id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"yes | head -c 200000\"]}");
        assertTrue(out.get("truncated").asBoolean());
        assertEquals(TestServers.EXEC_OUTPUT_CAP, out.get("stdout").asText().length());
        assertFalse(execOk(id, "{\"cmd\":\"echo\"}").get("truncated").asBoolean());
    }

    @Test
    void unknownCommandIsAnExitCodeNotAnError() {
        String id = createRunning();
        assertEquals(127, execOk(id, "{\"cmd\":\"/no/such/command\"}").get("exit_code").asInt());
    }

    @Test
    void tenMegabytesUpAndDown() {
        String id = createRunning();
        byte[] data = new byte[10 * 1024 * 1024];
        new Random(42).nextBytes(data);
        Response up = api.upload(id, "/data/blob.bin", data);
        assertEquals(204, up.status(), up.text());
        Response down = api.download(id, "/data/blob.bin");
        assertEquals(200, down.status());
        assertEquals("application/octet-stream", down.contentType());
        assertArrayEquals(data, down.body());
        // the same bytes are visible to commands in the sandbox
        assertEquals(String.valueOf(data.length),
                execOk(id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"wc -c < data/blob.bin\"]}").get("stdout").asText()
                        .trim());
    }

    @Test
    void emptyFileRoundTrips() {
        String id = createRunning();
        assertEquals(204, api.upload(id, "/empty", new byte[0]).status());
        Response down = api.download(id, "/empty");
        assertEquals(200, down.status());
        assertEquals(0, down.body().length);
    }

    @Test
    void fileFirstThenPathIsSpooledAndWorks() {
        String id = createRunning();
        ApiClient.Multipart form = new ApiClient.Multipart().file("file", "f", "late path".getBytes())
                .field("path", "/late.txt");
        Response r = api.call("POST", WRITE, id, form.contentType(),
                HttpRequest.BodyPublishers.ofByteArray(form.bytes()));
        assertEquals(204, r.status(), r.text());
        assertEquals("late path", api.download(id, "/late.txt").text());
    }

    @Test
    void uploadOverTheLimitIs413() {
        String id = createRunning();
        // just over: found while streaming
        Response r = api.upload(id, "/big", new byte[(int) TestServers.MAX_FILE_BYTES + 1]);
        assertEquals(413, r.status(), r.text());
        assertEquals("too_large", r.errorCode());
        // far over: refused from Content-Length before reading
        Response far = api.upload(id, "/big", new byte[(int) TestServers.MAX_FILE_BYTES * 2]);
        assertEquals(413, far.status(), far.text());
        assertEquals(404, api.download(id, "/big").status(), "nothing half-written");
        // exactly the limit is fine
        assertEquals(204, api.upload(id, "/big", new byte[(int) TestServers.MAX_FILE_BYTES]).status());
        assertEquals(200, api.get("/v1/sandboxes/{id}", id).status());
    }

    @Test
    void downloadOverTheLimitIs413() {
        String id = createRunning();
        execOk(id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"head -c " + (TestServers.MAX_FILE_BYTES + 1)
                + " /dev/zero > huge\"]}");
        Response r = api.download(id, "/huge");
        assertEquals(413, r.status(), r.text());
        assertEquals("too_large", r.errorCode());
    }

    @Test
    void notFoundEverywhere() {
        String ghost = "sb-00000000";
        List<Response> answers = List.of(
                api.get(SANDBOX, ghost),
                api.delete(SANDBOX, ghost),
                api.exec(ghost, "{\"cmd\":\"true\"}"),
                api.post(PAUSE, ghost, null),
                api.post(RESUME, ghost, null),
                api.upload(ghost, "/x", new byte[3]),
                api.download(ghost, "/x"));
        for (Response r : answers) {
            assertEquals(404, r.status(), r.text());
            assertEquals("not_found", r.errorCode());
        }
        String id = createRunning();
        Response missing = api.download(id, "/no/such/file");
        assertEquals(404, missing.status());
        assertEquals("not_found", missing.errorCode());
        Response dir = api.download(id, "/");
        assertEquals(400, dir.status(), "a directory is not a file: " + dir.text());
    }

    @Test
    void engineFailureIs502AndTheRecordStaysAsError() {
        Response r = api.create("{\"template\":\"broken\"}");
        assertEquals(502, r.status(), r.text());
        assertEquals("agent_error", r.errorCode());
        assertTrue(r.json().get("error").get("message").asText().contains("kernel panic"), r.text());
        List<JsonNode> errored = new ArrayList<>();
        api.get(SANDBOXES, null).json().forEach(s -> {
            if (s.get("template").asText().equals("broken")) {
                errored.add(s);
            }
        });
        assertFalse(errored.isEmpty());
        errored.forEach(s -> assertEquals("error", s.get("status").asText(), s.toString()));
    }

    @Test
    void aJvmErrorIsA500WithTheErrorBodyAndNoPendingRecord() {
        Response r = api.create("{\"template\":\"linkage\"}");
        assertEquals(500, r.status(), r.text());
        assertEquals("internal", r.errorCode());
        api.get(SANDBOXES, null).json().forEach(s -> {
            if (s.get("template").asText().equals("linkage")) {
                assertEquals("error", s.get("status").asText(), s.toString());
            }
        });
    }

    @Test
    void unknownTemplateIs404AndLeavesNoRecord() {
        int before = api.get(SANDBOXES, null).json().size();
        Response r = api.create("{\"template\":\"no-such-template\"}");
        assertEquals(404, r.status(), r.text());
        assertEquals("not_found", r.errorCode());
        assertEquals("no template named 'no-such-template'", r.json().get("error").get("message").asText());
        assertEquals(before, api.get(SANDBOXES, null).json().size());
    }

    @Test
    void aVmThatDiesShowsAsError() {
        String id = createRunning();
        engine.crash(id);
        assertEquals("error", api.get(SANDBOX, id).json().get("status").asText());
        assertEquals(409, api.exec(id, "{\"cmd\":\"true\"}").status());
    }

    @Test
    void aSlowExecHoldsUpNothingElse() throws Exception {
        String a = createRunning();
        String b = createRunning();
        CompletableFuture<JsonNode> slowA = CompletableFuture.supplyAsync(
                () -> execOk(a, "{\"cmd\":\"sleep\",\"args\":[\"3\"]}"));
        CompletableFuture<JsonNode> slowA2 = CompletableFuture.supplyAsync(
                () -> execOk(a, "{\"cmd\":\"sleep\",\"args\":[\"3\"]}"));
        Thread.sleep(300);
        long start = System.nanoTime();
        execOk(b, "{\"cmd\":\"true\"}");
        execOk(a, "{\"cmd\":\"true\"}");
        assertEquals(200, api.get(SANDBOX, a).status());
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertTrue(ms < 2000, "quick calls waited " + ms + " ms behind a slow exec");
        long both = System.nanoTime();
        slowA.get();
        slowA2.get();
        assertTrue((System.nanoTime() - both) / 1_000_000 < 4000, "two execs on one sandbox ran one after the other");
    }

    @Test
    void lifecycleCallsOnOneSandboxAreSerialised() throws Exception {
        String id = createRunning();
        List<CompletableFuture<Integer>> pauses = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            pauses.add(CompletableFuture.supplyAsync(() -> api.post(PAUSE, id, null).status()));
        }
        List<Integer> codes = new ArrayList<>();
        for (CompletableFuture<Integer> f : pauses) {
            codes.add(f.get());
        }
        assertEquals(1, codes.stream().filter(c -> c == 200).count(), codes.toString());
        assertEquals(7, codes.stream().filter(c -> c == 409).count(), codes.toString());
    }

    @Test
    void destroyDuringAnExecEndsItWithoutA5xx() throws Exception {
        String id = createRunning();
        CompletableFuture<Response> exec = CompletableFuture.supplyAsync(
                () -> api.exec(id, "{\"cmd\":\"sleep\",\"args\":[\"2\"]}"));
        Thread.sleep(300);
        assertEquals(204, api.delete(SANDBOX, id).status());
        int status = exec.get().status();
        assertTrue(status == 200 || status == 409, "exec answered " + status);
        assertEquals("stopped", api.get(SANDBOX, id).json().get("status").asText());
    }

    @Test
    void everyContractOperationAndStatusIsExercised() {
        // Ordered last by name is not guaranteed; run what this needs itself, then check the whole set.
        String id = createRunning();
        api.exec(id, "{\"cmd\":\"true\"}");
        api.create("{\"template\":\"broken\"}");
        api.upload(id, "/f", new byte[]{1});
        api.upload(id, "/f", new byte[(int) TestServers.MAX_FILE_BYTES + 1]);
        api.download(id, "/f");
        api.download(id, "/nope");
        api.get(SANDBOX, "sb-ffffffff");
        api.exec("sb-ffffffff", "{\"cmd\":\"true\"}");
        api.post(PAUSE, id, null);
        api.post(PAUSE, id, null);
        api.exec(id, "{\"cmd\":\"true\"}");
        api.upload(id, "/f", new byte[]{1});
        api.post(RESUME, id, null);
        api.post(RESUME, id, null);
        api.get(SANDBOXES, null);
        api.delete(SANDBOX, id);
        Set<String> declared = new TreeSet<>(Arrays.asList(
                "POST /v1/sandboxes 201", "POST /v1/sandboxes 502", "GET /v1/sandboxes 200",
                "GET /v1/sandboxes/{id} 200", "GET /v1/sandboxes/{id} 404", "DELETE /v1/sandboxes/{id} 204",
                "POST /v1/sandboxes/{id}/exec 200", "POST /v1/sandboxes/{id}/exec 404",
                "POST /v1/sandboxes/{id}/exec 409", "POST /v1/sandboxes/{id}/pause 200",
                "POST /v1/sandboxes/{id}/pause 409", "POST /v1/sandboxes/{id}/resume 200",
                "POST /v1/sandboxes/{id}/resume 409", "POST /v1/sandboxes/{id}/files/write 204",
                "POST /v1/sandboxes/{id}/files/write 409", "POST /v1/sandboxes/{id}/files/write 413",
                "POST /v1/sandboxes/{id}/files/read 200", "POST /v1/sandboxes/{id}/files/read 404"));
        declared.removeAll(api.seen());
        assertEquals(Set.of(), declared, "declared responses never produced");
        Set<String> ops = new TreeSet<>(CONTRACT.operations());
        api.seen().forEach(s -> ops.remove(s.substring(0, s.lastIndexOf(' '))));
        assertEquals(Set.of(), ops, "contract operations never called");
    }

    @Test
    void theValidatorRejectsWhatTheContractForbids() {
        assertTrue(CONTRACT.accepts("Sandbox", "{\"id\":\"sb-1\",\"status\":\"running\"}"));
        assertFalse(CONTRACT.accepts("Sandbox", "{\"id\":\"sb-1\",\"status\":\"bogus\"}"));
        assertFalse(CONTRACT.accepts("Sandbox", "{\"created_at\":\"yesterday\"}"));
        assertFalse(CONTRACT.accepts("ExecResponse", "{\"exit_code\":\"0\"}"));
        assertFalse(CONTRACT.accepts("ExecResponse", "{\"encoding\":\"latin1\"}"));
        assertFalse(CONTRACT.accepts("Error", "{\"error\":{\"code\":1}}"));
    }
}
