package dev.sandbox.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ServerSmokeTest {

    private static SandboxServer server;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start(@TempDir Path data) {
        server = SandboxServer.start(ServerConfig.defaults("127.0.0.1", 0, data.resolve("state")),
                new FakeEngine(data.resolve("vms")));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void healthAnswers() throws Exception {
        HttpResponse<String> res = get("/health");
        assertEquals(200, res.statusCode());
        assertTrue(res.body().startsWith("{\"status\":\"ok\""), res.body());
    }

    @Test
    void servesTheContract() throws Exception {
        HttpResponse<String> res = get("/openapi.yaml");
        assertEquals(200, res.statusCode());
        assertTrue(res.body().contains("title: Wrenn Sandbox API"), res.body());
    }

    @Test
    void bundledContractMatchesShared() throws Exception {
        // The server ships a copy of ../shared/openapi.yaml; it must not drift from the source of truth.
        Path shared = Path.of("../../shared/openapi.yaml");
        assumeTrue(Files.exists(shared), "no ../shared beside this checkout");
        assertEquals(Files.readString(shared), get("/openapi.yaml").body());
    }

    @Test
    void emptyListAtFirst() throws Exception {
        HttpResponse<String> res = get("/v1/sandboxes");
        assertEquals(200, res.statusCode());
        assertEquals("application/json", res.headers().firstValue("content-type").orElse(""));
    }

    @Test
    void configReadsFlagsThenEnvThenDefaults() {
        assertThrows(IllegalArgumentException.class, () -> ServerConfig.from(new String[]{"--port", "x"}, Map.of()));
        assertThrows(IllegalArgumentException.class, () -> ServerConfig.from(new String[]{"--port", "70000"},
                Map.of()));
        assertThrows(IllegalArgumentException.class, () -> ServerConfig.from(new String[]{"--bogus"}, Map.of()));
        assertThrows(IllegalArgumentException.class, () -> ServerConfig.from(new String[]{"--port"}, Map.of()));
        assertThrows(IllegalArgumentException.class,
                () -> ServerConfig.from(new String[]{"--reap-interval", "0"}, Map.of()));
        ServerConfig d = ServerConfig.from(new String[0], Map.of());
        assertEquals("127.0.0.1", d.host());
        assertEquals(8080, d.port());
        assertEquals(100L * 1024 * 1024, d.maxFileBytes());
        assertEquals(9000, ServerConfig.from(new String[]{"--port", "9000"}, Map.of("SANDBOX_PORT", "9001")).port());
        assertEquals(9001, ServerConfig.from(new String[0], Map.of("SANDBOX_PORT", "9001")).port());
        assertEquals("0.0.0.0", ServerConfig.from(new String[0], Map.of("SANDBOX_HOST", "0.0.0.0")).host());
        ServerConfig c = ServerConfig.from(new String[]{"--max-file-bytes", "1024", "--stopped-retention", "0.5",
                "--exec-output-cap", "99", "--reap-interval", "2"}, Map.of("SANDBOX_DATA", "/tmp/x"));
        assertEquals(1024, c.maxFileBytes());
        assertEquals(99, c.execOutputCap());
        assertEquals(Duration.ofMillis(500), c.stoppedRetention());
        assertEquals(Duration.ofSeconds(2), c.reapInterval());
        assertEquals(Path.of("/tmp/x"), c.dataDir());
    }
}
