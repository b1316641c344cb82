package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** State across restarts (clean and crashed), the idle reaper, retention, and an engine that failed to open. */
class RestartAndReaperTest {

    private static final ContractValidator CONTRACT = new ContractValidator();

    private static Map<String, String> statuses(ApiClient api) {
        Map<String, String> out = new HashMap<>();
        api.get(SandboxApiTest.SANDBOXES, null).json()
                .forEach(s -> out.put(s.get("id").asText(), s.get("status").asText()));
        return out;
    }

    @Test
    void recordsSurviveACleanRestartAsStopped(@TempDir Path dir) {
        String running;
        String stopped;
        try (SandboxServer a = TestServers.start(TestServers.config(dir.resolve("state")),
                new FakeEngine(dir.resolve("vms")))) {
            ApiClient api = new ApiClient(a.port(), CONTRACT);
            running = api.create("{\"vcpus\":2}").json().get("id").asText();
            stopped = api.create("{}").json().get("id").asText();
            assertEquals(204, api.delete(SandboxApiTest.SANDBOX, stopped).status());
        }
        try (SandboxServer b = TestServers.start(TestServers.config(dir.resolve("state")),
                new FakeEngine(dir.resolve("vms2")))) {
            ApiClient api = new ApiClient(b.port(), CONTRACT);
            assertEquals(Map.of(running, "stopped", stopped, "stopped"), statuses(api));
            JsonNode rec = api.get(SandboxApiTest.SANDBOX, running).json();
            assertEquals(2, rec.get("vcpus").asInt(), "the record kept its fields");
            assertEquals(409, api.exec(running, "{\"cmd\":\"true\"}").status());
        }
    }

    @Test
    void recordsSurviveACrashAsStopped(@TempDir Path dir) throws IOException {
        Path crashCopy = dir.resolve("crash-copy");
        String running;
        String paused;
        try (SandboxServer a = TestServers.start(TestServers.config(dir.resolve("state")),
                new FakeEngine(dir.resolve("vms")))) {
            ApiClient api = new ApiClient(a.port(), CONTRACT);
            running = api.create("{}").json().get("id").asText();
            paused = api.create("{}").json().get("id").asText();
            api.post(SandboxApiTest.PAUSE, paused, null);
            // The store's file as a killed process leaves it: copied while the map is open and claims VMs.
            Files.createDirectories(crashCopy);
            Files.copy(dir.resolve("state/sandboxes.dat"), crashCopy.resolve("sandboxes.dat"));
        }
        try (SandboxServer b = TestServers.start(TestServers.config(crashCopy), new FakeEngine(dir.resolve("v2")))) {
            ApiClient api = new ApiClient(b.port(), CONTRACT);
            assertEquals(Map.of(running, "stopped", paused, "stopped"), statuses(api));
            // and the recovered store takes new records
            assertEquals(201, api.create("{}").status());
        }
    }

    @Test
    void idleSandboxesAreReapedAndStoppedOnesPurged(@TempDir Path dir) throws Exception {
        ServerConfig config = TestServers.fastReaper(dir.resolve("state"), Duration.ofSeconds(2));
        try (SandboxServer s = TestServers.start(config, new FakeEngine(dir.resolve("vms")))) {
            ApiClient api = new ApiClient(s.port(), CONTRACT);
            String idle = api.create("{\"timeout_sec\":1}").json().get("id").asText();
            String busy = api.create("{\"timeout_sec\":1}").json().get("id").asText();
            String patient = api.create("{\"timeout_sec\":300}").json().get("id").asText();
            // an exec longer than the idle timeout is activity, not idleness
            Response slow = api.exec(busy, "{\"cmd\":\"sleep\",\"args\":[\"2\"]}");
            assertEquals(200, slow.status(), slow.text());
            String idleStatus = api.get(SandboxApiTest.SANDBOX, idle).json().get("status").asText();
            assertEquals("stopped", idleStatus);
            assertEquals("running", api.get(SandboxApiTest.SANDBOX, patient).json().get("status").asText());
            // the retention passes: the record goes
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (api.get(SandboxApiTest.SANDBOX, idle).status() != 404 && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            assertEquals(404, api.get(SandboxApiTest.SANDBOX, idle).status());
            assertEquals("running", api.get(SandboxApiTest.SANDBOX, patient).json().get("status").asText());
        }
    }

    @Test
    void withoutAnEngineTheServerStillServes(@TempDir Path dir) {
        UnavailableEngine none = UnavailableEngine.because(dir.resolve("vms"), "no /dev/kvm on this host");
        try (SandboxServer s = TestServers.start(TestServers.config(dir.resolve("state")), none)) {
            ApiClient api = new ApiClient(s.port(), CONTRACT);
            Response health = api.raw("GET", "/health", null, HttpRequest.BodyPublishers.noBody());
            assertEquals(503, health.status());
            assertEquals("degraded", health.json().get("status").asText());
            assertEquals("unavailable", health.json().get("engine").get("state").asText());
            assertTrue(health.json().get("engine").get("message").asText().contains("no /dev/kvm"));
            Response create = api.create("{}");
            assertEquals(502, create.status());
            assertTrue(create.json().get("error").get("message").asText().contains("no /dev/kvm"), create.text());
            assertEquals("error", api.get(SandboxApiTest.SANDBOXES, null).json().get(0).get("status").asText());
        }
    }

    @Test
    void aTakenPortFailsTheStartAndLeavesTheStoreClean(@TempDir Path dir) {
        try (SandboxServer a = TestServers.start(TestServers.config(dir.resolve("a")),
                new FakeEngine(dir.resolve("vms")))) {
            ServerConfig taken = new ServerConfig("127.0.0.1", a.port(), dir.resolve("b"), 1, 1, 1,
                    Duration.ZERO, Duration.ofSeconds(1), 10, Duration.ZERO, 1, ServerConfig.Budget.unlimited(),
                    ServerConfig.Access.open(), true);
            assertThrows(RuntimeException.class, () -> TestServers.start(taken, new FakeEngine(dir.resolve("v2"))));
            assertTrue(Files.exists(dir.resolve("b/sandboxes.clean")), "store closed cleanly");
        }
    }

    @Test
    void mainFallsBackWhenTheEngineCannotOpen(@TempDir Path dir) {
        String before = System.getProperty("sandbox.guest.dir");
        System.clearProperty("sandbox.guest.dir");
        try {
            assertTrue(Main.openEngine(dir) instanceof UnavailableEngine u && u.reason().contains("sandbox.guest.dir"));
        } finally {
            if (before != null) {
                System.setProperty("sandbox.guest.dir", before);
            }
        }
    }
}
