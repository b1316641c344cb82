package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Section 3 of issue 13: a guest that dies on its own is {@code error} with the reason in {@code status_reason}
 * (documented in openapi-extensions.yaml, served beside the contract), its VM is collected by the reaper, and
 * failed calls do not keep a sandbox from the idle reaper.
 */
class FailedSandboxTest {

    private static final ContractValidator CONTRACT = new ContractValidator();

    @Test
    void aCrashedGuestIsErrorWithItsReasonAndTheReaperCollectsItsVm(@TempDir Path dir) throws Exception {
        FakeEngine engine = new FakeEngine(dir.resolve("vms"));
        ServerConfig config = TestServers.fastReaper(dir.resolve("state"), Duration.ofSeconds(60));
        try (SandboxServer s = TestServers.start(config, engine)) {
            ApiClient api = new ApiClient(s.port(), CONTRACT);
            String id = api.create("{}").json().get("id").asText();
            engine.crash(id);
            JsonNode rec = api.get(SandboxApiTest.SANDBOX, id).json();
            assertEquals("error", rec.get("status").asText(), rec.toString());
            assertTrue(rec.get("status_reason").asText().contains("triple fault"), rec.toString());
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (engine.find(id).isPresent() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(engine.find(id).isEmpty(), "the reaper stopped the failed VM");
            rec = api.get(SandboxApiTest.SANDBOX, id).json();
            assertEquals("error", rec.get("status").asText(), "still error, with its reason: " + rec);
            assertTrue(rec.get("status_reason").asText().contains("triple fault"), rec.toString());
            Response exec = api.exec(id, "{\"cmd\":\"true\"}");
            assertEquals(409, exec.status(), exec.text());
        }
    }

    @Test
    void failedCallsAreNotActivity(@TempDir Path dir) throws Exception {
        ServerConfig config = TestServers.fastReaper(dir.resolve("state"), Duration.ofSeconds(60));
        try (SandboxServer s = TestServers.start(config, new FakeEngine(dir.resolve("vms")))) {
            ApiClient api = new ApiClient(s.port(), CONTRACT);
            String id = api.create("{\"timeout_sec\":1}").json().get("id").asText();
            long deadline = System.nanoTime() + Duration.ofSeconds(4).toNanos();
            String status = "running";
            while (status.equals("running") && System.nanoTime() < deadline) {
                Response missing = api.download(id, "/no/such/file");
                if (missing.status() != 404) {
                    assertEquals(409, missing.status(), missing.text());  // reaped meanwhile
                }
                Thread.sleep(100);
                status = api.get(SandboxApiTest.SANDBOX, id).json().get("status").asText();
            }
            assertEquals("stopped", status, "404s every 100 ms did not keep the idle sandbox alive");
        }
    }

    @Test
    void theExtensionsAreServed(@TempDir Path dir) {
        try (SandboxServer s = TestServers.start(TestServers.config(dir.resolve("state")),
                new FakeEngine(dir.resolve("vms")))) {
            ApiClient api = new ApiClient(s.port(), CONTRACT);
            Response doc = api.raw("GET", "/openapi-extensions.yaml", null, HttpRequest.BodyPublishers.noBody());
            assertEquals(200, doc.status());
            assertTrue(doc.contentType().startsWith("application/yaml"));
            assertTrue(doc.text().contains("status_reason"));
            assertEquals(200, api.health().status());
        }
    }
}
