package dev.sandbox.server;

import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Section 6 of issue 13: optional API keys, no open non-loopback listener without them, a private data dir. */
class SecurityTest {

    private static ServerConfig config(Path dir, String host, ServerConfig.Access access) {
        return TestServers.config(dir.resolve("state")).withAccess(host, access);
    }

    @Test
    void withKeysEveryCallButHealthMetricsAndTheDocumentsNeedsOne(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("keys"), "# operators\nfile-key\n\n");
        ServerConfig.Access access = new ServerConfig.Access(file, " env-key-1 ,env-key-2", false);
        try (SandboxServer s = TestServers.start(config(dir, "127.0.0.1", access), new FakeEngine(dir.resolve("v")))) {
            ApiClient none = new ApiClient(s.port(), SandboxApiTest.CONTRACT);
            Response r = none.create("{}");
            assertEquals(401, r.status(), r.text());
            assertEquals("unauthorized", r.errorCode());
            Response wrong = new ApiClient(s.port(), SandboxApiTest.CONTRACT, "env-key-3").get(SandboxApiTest.SANDBOXES, null);
            assertEquals(401, wrong.status(), wrong.text());
            assertEquals(401, none.get(SandboxApiTest.SANDBOX, "sb-00000000").status(), "no peeking at ids either");
            for (String key : new String[]{"file-key", "env-key-1", "env-key-2"}) {
                ApiClient api = new ApiClient(s.port(), SandboxApiTest.CONTRACT, key);
                Response created = api.create("{}");
                assertEquals(201, created.status(), key + ": " + created.text());
            }
            assertEquals(200, none.health().status());
            assertEquals(200, none.raw("GET", "/openapi.yaml", null, HttpRequest.BodyPublishers.noBody()).status());
            assertEquals(200, none.raw("GET", "/openapi-extensions.yaml", null,
                    HttpRequest.BodyPublishers.noBody()).status());
            assertEquals(200, none.raw("GET", "/metrics", null, HttpRequest.BodyPublishers.noBody()).status(),
                    "metrics are open like health");
            try (ApiClient.Stream stream = none.stream("sb-00000000", "{\"cmd\":\"true\"}")) {
                assertEquals(401, stream.status(), "exec/stream needs a key like exec");
            }
        }
    }

    @Test
    void aPublicAddressWithoutKeysIsRefusedUnlessAllowedExplicitly(@TempDir Path dir) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TestServers.start(
                config(dir, "0.0.0.0", ServerConfig.Access.open()), new FakeEngine(dir.resolve("v"))));
        assertTrue(e.getMessage().contains("without API keys"), e.getMessage());
        try (SandboxServer s = TestServers.start(config(dir, "0.0.0.0", new ServerConfig.Access(null, "", true)),
                new FakeEngine(dir.resolve("v1")))) {
            assertTrue(s.port() > 0);
        }
        try (SandboxServer s = TestServers.start(config(dir, "0.0.0.0", new ServerConfig.Access(null, "k", false)),
                new FakeEngine(dir.resolve("v2")))) {
            assertTrue(s.port() > 0);
        }
        assertEquals(true, ServerConfig.from(new String[]{"--allow-unauthenticated", "true"}, java.util.Map.of())
                .access().allowUnauthenticated());
    }

    @Test
    void theDataDirIsPrivate(@TempDir Path dir) throws IOException {
        Path state = dir.resolve("state");
        Path leftOpen = Files.createDirectories(state.resolve("vms/sb-1")).resolve("memory");
        Files.write(leftOpen, new byte[16]);
        Files.setPosixFilePermissions(leftOpen, PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (SandboxServer s = TestServers.start(TestServers.config(state), new FakeEngine(dir.resolve("v")))) {
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(state)));
            assertEquals("rwx------", PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(state.resolve("vms/sb-1"))));
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(leftOpen)));
        }
    }
}
