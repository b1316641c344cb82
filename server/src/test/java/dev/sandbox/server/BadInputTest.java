package dev.sandbox.server;

import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A table of bad requests, each answered with the right 4xx and the error body; the server stays healthy. */
class BadInputTest {

    /** {@code template}: the contract operation, or null for paths outside the contract. */
    record Case(String name, String method, String template, String contentType, byte[] body, int status) {
        @Override
        public String toString() {
            return name;
        }
    }

    static FakeEngine engine;
    static SandboxServer server;
    static ApiClient api;
    static String id;

    @BeforeAll
    static void start(@TempDir Path data) {
        engine = new FakeEngine(data.resolve("vms"));
        server = TestServers.start(TestServers.config(data.resolve("state")), engine);
        api = new ApiClient(server.port(), new ContractValidator());
        id = api.create("{}").json().get("id").asText();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static Case json(String name, String template, String body, int status) {
        return new Case(name, "POST", template, "application/json",
                body.getBytes(StandardCharsets.UTF_8), status);
    }

    static Case form(String name, String contentType, byte[] body, int status) {
        return new Case(name, "POST", SandboxApiTest.WRITE, contentType, body, status);
    }

    static List<Case> cases() {
        String create = SandboxApiTest.SANDBOXES;
        String exec = SandboxApiTest.EXEC;
        String read = SandboxApiTest.READ;
        List<Case> c = new ArrayList<>(List.of(
                json("create: empty body", create, "", 400),
                json("create: not JSON", create, "not json", 400),
                json("create: truncated JSON", create, "{\"vcpus\":", 400),
                json("create: array", create, "[]", 400),
                json("create: null", create, "null", 400),
                json("create: number", create, "42", 400),
                json("create: vcpus as string", create, "{\"vcpus\":\"2\"}", 400),
                json("create: vcpus 0", create, "{\"vcpus\":0}", 400),
                json("create: vcpus 1000", create, "{\"vcpus\":1000}", 400),
                json("create: vcpus 1.5", create, "{\"vcpus\":1.5}", 400),
                json("create: vcpus true", create, "{\"vcpus\":true}", 400),
                json("create: memory 1 MiB", create, "{\"memory_mb\":1}", 400),
                json("create: memory 10 TiB", create, "{\"memory_mb\":10000000}", 400),
                json("create: memory null", create, "{\"memory_mb\":null}", 400),
                json("create: timeout 0", create, "{\"timeout_sec\":0}", 400),
                json("create: timeout negative", create, "{\"timeout_sec\":-5}", 400),
                json("create: timeout overflows int", create, "{\"timeout_sec\":99999999999}", 400),
                json("create: empty template", create, "{\"template\":\"\"}", 400),
                json("create: template escapes", create, "{\"template\":\"../../etc/passwd\"}", 400),
                json("create: template number", create, "{\"template\":5}", 400),
                json("create: unknown template", create, "{\"template\":\"nope\"}", 404),
                json("exec: no cmd", exec, "{}", 400),
                json("exec: empty cmd", exec, "{\"cmd\":\"\"}", 400),
                json("exec: cmd number", exec, "{\"cmd\":5}", 400),
                json("exec: cmd null", exec, "{\"cmd\":null}", 400),
                json("exec: cmd array", exec, "{\"cmd\":[\"ls\"]}", 400),
                json("exec: args string", exec, "{\"cmd\":\"echo\",\"args\":\"hi\"}", 400),
                json("exec: args numbers", exec, "{\"cmd\":\"echo\",\"args\":[1,2]}", 400),
                json("exec: args null item", exec, "{\"cmd\":\"echo\",\"args\":[null]}", 400),
                json("exec: args object", exec, "{\"cmd\":\"echo\",\"args\":{\"a\":1}}", 400),
                json("exec: timeout 0", exec, "{\"cmd\":\"echo\",\"timeout_sec\":0}", 400),
                json("exec: timeout string", exec, "{\"cmd\":\"echo\",\"timeout_sec\":\"5\"}", 400),
                json("exec: timeout too long", exec, "{\"cmd\":\"echo\",\"timeout_sec\":1000000}", 400),
                json("exec: NUL in cmd", exec, "{\"cmd\":\"ec\\u0000ho\"}", 400),
                json("exec: not JSON", exec, "cmd=ls", 400),
                json("read: relative path", read, "{\"path\":\"relative.txt\"}", 400),
                json("read: no path", read, "{}", 400),
                json("read: path number", read, "{\"path\":5}", 400),
                json("read: empty path", read, "{\"path\":\"\"}", 400),
                json("read: NUL in path", read, "{\"path\":\"/a\\u0000b\"}", 400),
                form("write: JSON instead of multipart", "application/json",
                        "{\"path\":\"/x\"}".getBytes(StandardCharsets.UTF_8), 400),
                form("write: no file part", multipart(new ApiClient.Multipart().field("path", "/x")), 
                        new ApiClient.Multipart().field("path", "/x").bytes(), 400),
                form("write: no path part", multipart(new ApiClient.Multipart()),
                        new ApiClient.Multipart().file("file", "f", new byte[]{1}).bytes(), 400),
                form("write: relative path", multipart(new ApiClient.Multipart()),
                        new ApiClient.Multipart().field("path", "x/y").file("file", "f", new byte[]{1}).bytes(),
                        400),
                form("write: boundary mismatch", "multipart/form-data; boundary=other",
                        new ApiClient.Multipart().field("path", "/x").file("file", "f", new byte[]{1}).bytes(),
                        400),
                new Case("create: JSON body over 1 MiB", "POST", create, "application/json",
                        ("{\"template\":\"" + "a".repeat(2 * 1024 * 1024) + "\"}").getBytes(), 413),
                new Case("unknown path", "GET", null, null, null, 404),
                new Case("unknown method on sandboxes", "PUT", null, "application/json", "{}".getBytes(), 405),
                new Case("GET on exec", "GET", null, null, null, 405),
                new Case("get: no such id", "GET", SandboxApiTest.SANDBOX, null, null, 404)));
        return c;
    }

    private static String multipart(ApiClient.Multipart m) {
        return m.contentType();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void answeredWithA4xxAndTheErrorBody(Case c) {
        check(api, id, c);
    }

    /**
     * Sends case {@code c} through {@code api}, aimed at sandbox {@code id} where it needs one, and checks the
     * status and the error body. Also used against the real engine (KvmServerTest).
     */
    static void check(ApiClient api, String id, Case c) {
        HttpRequest.BodyPublisher body = c.body() == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(c.body());
        Response r;
        if (c.template() == null) {
            String path = switch (c.name()) {
                case "unknown method on sandboxes" -> "/v1/sandboxes";
                case "GET on exec" -> "/v1/sandboxes/" + id + "/exec";
                default -> "/v1/nope";
            };
            r = api.raw(c.method(), path, c.contentType(), body);
        } else if (c.name().startsWith("get: no such id")) {
            r = api.call(c.method(), c.template(), "sb-deadbeef", c.contentType(), body);
        } else {
            r = api.call(c.method(), c.template(), id, c.contentType(), body);
        }
        assertEquals(c.status(), r.status(), c.name() + ": " + r.text());
        assertTrue(r.contentType() != null && r.contentType().startsWith("application/json"), r.contentType());
        assertTrue(r.json().path("error").path("code").isTextual(), r.text());
        assertTrue(r.json().path("error").path("message").isTextual(), r.text());
    }

    @Test
    void stillHealthyAfterwards() {
        answeredWithA4xxAndTheErrorBody(cases().getFirst());
        Response health = api.raw("GET", "/health", null, HttpRequest.BodyPublishers.noBody());
        assertEquals(200, health.status(), health.text());
        assertEquals("ok", health.json().get("status").asText());
        Response exec = api.exec(id, "{\"cmd\":\"echo\",\"args\":[\"still here\"]}");
        assertEquals(200, exec.status());
        assertEquals("still here\n", exec.json().get("stdout").asText());
        assertEquals(201, api.create("{\"vcpus\":2,\"memory_mb\":256,\"timeout_sec\":60}").status());
    }
}
