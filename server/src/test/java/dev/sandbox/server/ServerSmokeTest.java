package dev.sandbox.server;

import io.helidon.webserver.WebServer;
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
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ServerSmokeTest {

    private static WebServer server;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start(@TempDir Path data) {
        server = Main.start(new ServerConfig("127.0.0.1", 0, data));
    }

    @AfterAll
    static void stop() {
        server.stop();
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void healthAnswers() throws Exception {
        HttpResponse<String> res = get("/health");
        assertEquals(200, res.statusCode());
        assertEquals("{\"status\":\"ok\"}", res.body());
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
    void sandboxOperationsSayTheyAreNotImplemented() throws Exception {
        HttpResponse<String> res = get("/v1/sandboxes");
        assertEquals(501, res.statusCode());
        assertTrue(res.body().startsWith("{\"error\":{\"code\":\"not_implemented\""), res.body());
    }

    @Test
    void configRejectsBadFlags() {
        assertThrows(IllegalArgumentException.class, () -> ServerConfig.from(new String[]{"--port", "x"}, Map.of()));
        assertThrows(IllegalArgumentException.class, () -> ServerConfig.from(new String[]{"--bogus"}, Map.of()));
        assertEquals(9000, ServerConfig.from(new String[]{"--port", "9000"}, Map.of()).port());
        assertEquals("0.0.0.0", ServerConfig.from(new String[0], Map.of("SANDBOX_HOST", "0.0.0.0")).host());
    }
}
