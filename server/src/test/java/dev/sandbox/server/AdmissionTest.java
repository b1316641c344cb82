package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Section 4 of issue 13: creates and resumes are admitted against the host budget; beyond it they get 503 with
 * the error body and Retry-After, nothing changes, and /health says what is used and free.
 */
class AdmissionTest {

    private static SandboxServer start(Path dir, ServerConfig.Budget budget) {
        return TestServers.start(TestServers.config(dir.resolve("state")).withBudget(budget),
                new FakeEngine(dir.resolve("vms")));
    }

    private static void refused(Response r) {
        assertEquals(503, r.status(), r.text());
        assertEquals("insufficient_capacity", r.errorCode(), r.text());
    }

    @Test
    void memoryBeyondTheBudgetIs503WithRetryAfterAndPausingFreesIt(@TempDir Path dir) throws Exception {
        try (SandboxServer s = start(dir, new ServerConfig.Budget(1024, 1.0, 100, 100, 0, 7))) {
            ApiClient api = new ApiClient(s.port(), SandboxApiTest.CONTRACT);
            String a = api.create("{\"memory_mb\":512}").json().get("id").asText();
            String b = api.create("{\"memory_mb\":512}").json().get("id").asText();
            int records = api.get(SandboxApiTest.SANDBOXES, null).json().size();
            refused(api.create("{\"memory_mb\":256}"));
            assertEquals(records, api.get(SandboxApiTest.SANDBOXES, null).json().size(), "a refusal leaves no record");
            HttpResponse<String> raw = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + s.port() + "/v1/sandboxes"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"memory_mb\":256}"))
                    .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
            assertEquals("7", raw.headers().firstValue("Retry-After").orElse(null), raw.body());

            JsonNode memory = api.health().json().get("capacity").get("memory_mb");
            assertEquals(1024, memory.get("used").asInt());
            assertEquals(0, memory.get("free").asInt());

            assertEquals(200, api.post(SandboxApiTest.PAUSE, a, null).status());
            assertEquals(512, api.health().json().get("capacity").get("memory_mb").get("free").asInt());
            String c = api.create("{\"memory_mb\":256}").json().get("id").asText();
            refused(api.post(SandboxApiTest.RESUME, a, null));
            assertEquals("paused", api.get(SandboxApiTest.SANDBOX, a).json().get("status").asText());
            assertEquals(204, api.delete(SandboxApiTest.SANDBOX, b).status());
            assertEquals(200, api.post(SandboxApiTest.RESUME, a, null).status());
            assertEquals(204, api.delete(SandboxApiTest.SANDBOX, c).status());
            assertEquals(512, api.health().json().get("capacity").get("memory_mb").get("used").asInt());
        }
    }

    @Test
    void vcpusAndSandboxCountsAreBudgetedToo(@TempDir Path dir) {
        try (SandboxServer s = start(dir, new ServerConfig.Budget(1 << 20, 1.0, 3, 2, 0, 5))) {
            ApiClient api = new ApiClient(s.port(), SandboxApiTest.CONTRACT);
            assertEquals(201, api.create("{\"vcpus\":2,\"memory_mb\":128}").status());
            refused(api.create("{\"vcpus\":2,\"memory_mb\":128}"));
            assertEquals(201, api.create("{\"vcpus\":1,\"memory_mb\":128}").status());
            refused(api.create("{\"vcpus\":1,\"memory_mb\":128}"));  // the third sandbox
            JsonNode capacity = api.health().json().get("capacity");
            assertEquals(3, capacity.get("vcpus").get("used").asInt());
            assertEquals(0, capacity.get("sandboxes").get("free").asInt());
        }
    }

    @Test
    void tooLittleFreeDiskIs503(@TempDir Path dir) {
        try (SandboxServer s = start(dir, new ServerConfig.Budget(1 << 20, 1.0, 100, 100, 1L << 40, 5))) {
            ApiClient api = new ApiClient(s.port(), SandboxApiTest.CONTRACT);
            Response r = api.create("{}");
            refused(r);
            assertEquals(true, r.json().get("error").get("message").asText().contains("free"), r.text());
        }
    }

    /** A transfer's deadline grows with its size: 30 s plus a second per MiB, not a fixed 30 s. */
    @Test
    void transferDeadlinesGrowWithSize(@TempDir Path dir) {
        FakeEngine engine = new FakeEngine(dir.resolve("vms"));
        try (SandboxServer s = TestServers.start(TestServers.config(dir.resolve("state")), engine)) {
            ApiClient api = new ApiClient(s.port(), SandboxApiTest.CONTRACT);
            String id = api.create("{}").json().get("id").asText();
            assertEquals(204, api.upload(id, "/small", new byte[10]).status());
            long small = engine.lastTransferTimeout.toMillis();
            assertEquals(204, api.upload(id, "/big", new byte[8 * 1024 * 1024]).status());
            long big = engine.lastTransferTimeout.toMillis();
            assertEquals(true, small >= 30_000 && small < 31_000, "small: " + small);
            assertEquals(true, big >= 38_000, "8 MiB gets 8 s more: " + big);
            assertEquals(200, api.download(id, "/big").status());
            assertEquals(30_000 + TestServers.MAX_FILE_BYTES * 1000 / (1024 * 1024),
                    engine.lastTransferTimeout.toMillis(), "a download may reach the limit");
        }
    }
}
