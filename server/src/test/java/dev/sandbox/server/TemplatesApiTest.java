package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.engine.TemplateRecipe;
import dev.sandbox.engine.templates.BuildRunner;
import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static dev.sandbox.server.ApiClient.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code /v1/templates} and what create does with templates, over {@link FakeEngine} (whose templates are the
 * engine's real catalog, with fake builds), every answer checked against the contract and the extensions.
 */
class TemplatesApiTest extends FakeServerTest {

    static final String TEMPLATES = "/v1/templates";
    static final String TEMPLATE = "/v1/templates/{name}";

    private BuildRunner defaultBuilder;

    @BeforeEach
    void keepBuilder() {
        defaultBuilder = engine.builder;
    }

    @AfterEach
    void restoreBuilder() {
        engine.builder = defaultBuilder;
    }

    /** A call on a templates operation, validated against openapi-extensions.yaml. */
    static Response call(ApiClient client, String method, String template, String name, String json) {
        String path = name == null ? template : template.replace("{name}", name);
        Response r = client.raw(method, path, json == null ? null : "application/json",
                json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        CONTRACT.validate(method, template, r.status(), r.contentType(), r.body());
        return r;
    }

    static Response show(String name) {
        return call(api, "GET", TEMPLATE, name, null);
    }

    static Response build(String json) {
        return call(api, "POST", TEMPLATES, null, json);
    }

    static Response delete(String name) {
        return call(api, "DELETE", TEMPLATE, name, null);
    }

    static JsonNode listed(String name) {
        Response r = call(api, "GET", TEMPLATES, null, null);
        assertEquals(200, r.status(), r.text());
        for (JsonNode t : r.json().get("templates")) {
            if (t.get("name").asText().equals(name)) {
                return t;
            }
        }
        return null;
    }

    static JsonNode awaitEnd(String name) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            JsonNode t = show(name).json();
            if (!t.get("status").asText().equals("building")) {
                return t;
            }
            Thread.sleep(10);
        }
        throw new AssertionError(name + " still building");
    }

    static JsonNode built(String name, String base) throws InterruptedException {
        Response r = build("{\"name\":\"" + name + "\",\"base\":\"" + base + "\"}");
        assertEquals(202, r.status(), r.text());
        JsonNode t = awaitEnd(name);
        assertEquals("ready", t.get("status").asText(), t.toString());
        return t;
    }

    // ---- reading ---------------------------------------------------------------------------------------------

    @Test
    void theListHasTheBuiltInsAndShowFindsEach() {
        JsonNode minimal = listed("minimal");
        assertEquals("initramfs", minimal.get("kind").asText());
        assertEquals("ready", minimal.get("status").asText());
        assertTrue(minimal.get("built_in").asBoolean());
        assertEquals("fake initramfs".length(), minimal.get("size_bytes").asLong());
        assertTrue(minimal.get("created_at").asText().endsWith("Z"), minimal.toString());
        assertFalse(minimal.has("base") || minimal.has("error"), minimal.toString());
        JsonNode python = listed("python");
        assertEquals("disk", python.get("kind").asText());
        assertEquals(FakeEngine.PYTHON_IMAGE_BYTES, python.get("size_bytes").asLong());
        assertEquals(python, show("python").json());
        List<String> names = new ArrayList<>();
        call(api, "GET", TEMPLATES, null, null).json().get("templates").forEach(t -> names.add(t.get("name")
                .asText()));
        assertEquals(names.stream().sorted().toList(), names, "sorted by name");
    }

    @Test
    void anUnknownTemplateIs404() {
        Response r = show("nope");
        assertError(404, "not_found", r);
        assertEquals("no template named 'nope'", r.json().get("error").get("message").asText());
        assertError(404, "not_found", show("..%2F..%2Fetc"));
        assertError(404, "not_found", delete("nope"));
    }

    @Test
    void otherMethodsAre405AndDeeperPaths404() {
        assertError(405, "method_not_allowed", api.raw("PUT", TEMPLATES, "application/json",
                HttpRequest.BodyPublishers.ofString("{}")));
        assertError(405, "method_not_allowed", api.raw("POST", "/v1/templates/python", "application/json",
                HttpRequest.BodyPublishers.ofString("{}")));
        assertError(404, "not_found", api.raw("GET", "/v1/templates/python/log", null,
                HttpRequest.BodyPublishers.noBody()));
    }

    // ---- building --------------------------------------------------------------------------------------------

    @Test
    void aBuildAnswers202WithLocationThenIsReadyAndSandboxesBootFromIt() throws Exception {
        HttpResponse<String> res = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + server.port() + TEMPLATES))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"py-web\",\"base\":\"python\","
                        + "\"packages\":[\"python3-flask\",\"curl=7.88.1-10+deb12u5\"],"
                        + "\"run\":[\"pip install requests\",\"echo done\"]}")).build(),
                HttpResponse.BodyHandlers.ofString());
        CONTRACT.validate("POST", TEMPLATES, res.statusCode(), res.headers().firstValue("content-type")
                .orElse(null), res.body().getBytes());
        assertEquals(202, res.statusCode(), res.body());
        assertEquals("/v1/templates/py-web", res.headers().firstValue("location").orElse(null));
        JsonNode started = ApiClient.JSON.readTree(res.body());
        assertEquals("building", started.get("status").asText());
        assertEquals("disk", started.get("kind").asText());
        assertEquals("python", started.get("base").asText());
        assertFalse(started.get("built_in").asBoolean());
        assertEquals(0, started.get("size_bytes").asLong());

        TemplateRecipe recipe = engine.lastRecipe;
        assertEquals(List.of("python3-flask", "curl=7.88.1-10+deb12u5"), recipe.packages());
        assertEquals(List.of("pip install requests", "echo done"), recipe.run());
        assertEquals(List.of(), recipe.aptSources(), "none configured: the image's own");

        JsonNode ready = awaitEnd("py-web");
        assertEquals("ready", ready.get("status").asText(), ready.toString());
        assertEquals("fake image of py-web".length(), ready.get("size_bytes").asLong());
        assertFalse(ready.has("error"));
        assertEquals(ready, listed("py-web"));

        Response sb = api.create("{\"template\":\"py-web\",\"disk_mb\":2048}");
        assertEquals(201, sb.status(), sb.text());
        assertEquals("py-web", sb.json().get("template").asText());
        assertEquals(2048, sb.json().get("disk_mb").asInt());
        SandboxSpec spec = engine.find(sb.json().get("id").asText()).orElseThrow().spec();
        assertEquals(2048, spec.diskMb());
        assertEquals("py-web", spec.template());
    }

    @Test
    void aCustomTemplateCanBeTheBaseOfAnother() throws Exception {
        built("layer-one", "python");
        JsonNode two = built("layer-two", "layer-one");
        assertEquals("layer-one", two.get("base").asText());
    }

    @Test
    void aFailedBuildShowsTheReasonAndTheLogTail() throws Exception {
        engine.builder = (recipe, base, out, log) -> {
            log.line("Reading package lists...");
            log.line("E: Unable to locate package python3-nope");
            throw new IllegalStateException("apt-get install exited 100");
        };
        assertEquals(202, build("{\"name\":\"broken-build\",\"base\":\"python\","
                + "\"packages\":[\"python3-nope\"]}").status());
        JsonNode failed = awaitEnd("broken-build");
        assertEquals("failed", failed.get("status").asText());
        String error = failed.get("error").asText();
        assertTrue(error.startsWith("apt-get install exited 100"), error);
        assertTrue(error.contains("E: Unable to locate package python3-nope"), error);
        Response create = api.create("{\"template\":\"broken-build\"}");
        assertError(409, "invalid_state", create);
        assertTrue(create.text().contains("failed to build"), create.text());
        assertEquals(204, delete("broken-build").status(), "a failed one can go");
        assertError(404, "not_found", show("broken-build"));
    }

    @Test
    void whileBuildingItIs409ForCreateDeleteAndTheSameName() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        BuildRunner normal = engine.builder;
        engine.builder = (recipe, base, out, log) -> {
            assertTrue(release.await(10, TimeUnit.SECONDS));
            normal.build(recipe, base, out, log);
        };
        try {
            assertEquals(202, build("{\"name\":\"slow\",\"base\":\"python\"}").status());
            assertEquals("building", show("slow").json().get("status").asText());
            int before = api.get(SandboxApiTest.SANDBOXES, null).json().size();
            Response create = api.create("{\"template\":\"slow\"}");
            assertError(409, "invalid_state", create);
            assertTrue(create.text().contains("still building"), create.text());
            assertEquals(before, api.get(SandboxApiTest.SANDBOXES, null).json().size(), "no record left");
            Response del = delete("slow");
            assertError(409, "invalid_state", del);
            assertTrue(del.text().contains("building"), del.text());
            assertError(409, "invalid_state", build("{\"name\":\"slow\",\"base\":\"python\"}"));
            Response child = build("{\"name\":\"slow-child\",\"base\":\"slow\"}");
            assertError(400, "bad_request", child);
            assertTrue(child.text().contains("base: template slow is building"), child.text());
        } finally {
            release.countDown();
        }
        assertEquals("ready", awaitEnd("slow").get("status").asText());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "[]                                                          | request body must be a JSON object",
        "{}                                                          | name is required",
        "{\"name\":5,\"base\":\"python\"}                            | name must be a string",
        "{\"name\":\"x\"}                                            | base is required",
        "{\"name\":\"x\",\"base\":null}                              | base must be a string",
        "{\"name\":\"Bad\",\"base\":\"python\"}                      | name must be 1..64 characters",
        "{\"name\":\"a.b\",\"base\":\"python\"}                      | name must be 1..64 characters",
        "{\"name\":\"x\",\"base\":\"python\",\"pkgs\":[]}            | pkgs is not a known field (name, base, packages, run)",
        "{\"name\":\"x\",\"base\":\"python\",\"packages\":\"curl\"}  | packages must be an array of strings",
        "{\"name\":\"x\",\"base\":\"python\",\"packages\":[\"curl\",1]} | packages[1] must be a string",
        "{\"name\":\"x\",\"base\":\"python\",\"packages\":[\"curl; rm -rf /\"]} | packages[0]: not a Debian package name",
        "{\"name\":\"x\",\"base\":\"python\",\"run\":[\"\"]}         | run[0] must be 1..8192 characters",
        "{\"name\":\"x\",\"base\":\"python\",\"run\":[\"a\\u0000b\"]} | run[0] contains a NUL character",
        "{\"name\":\"x\",\"base\":\"python\",\"run\":{}}             | run must be an array of strings",
        "{\"name\":\"x\",\"base\":\"nope\"}                          | base: unknown template 'nope'",
        "{\"name\":\"x\",\"base\":\"minimal\"}                       | base: template minimal is an initramfs",
    })
    void aBadBodyIs400NamingTheField(String body, String message) {
        Response r = build(body);
        assertError(400, "bad_request", r);
        assertTrue(r.json().get("error").get("message").asText().contains(message), r.text());
        assertError(404, "not_found", show("x"));
    }

    @Test
    void tooManyPackagesOrStepsAre400() {
        String packages = String.join(",", java.util.Collections.nCopies(201, "\"curl\""));
        Response r = build("{\"name\":\"x\",\"base\":\"python\",\"packages\":[" + packages + "]}");
        assertError(400, "bad_request", r);
        assertTrue(r.text().contains("packages has 201 entries, at most 200"), r.text());
        String steps = String.join(",", java.util.Collections.nCopies(101, "\"true\""));
        r = build("{\"name\":\"x\",\"base\":\"python\",\"run\":[" + steps + "]}");
        assertTrue(r.text().contains("run has 101 steps, at most 100"), r.text());
    }

    @Test
    void aTakenNameIs409() throws Exception {
        for (String taken : new String[]{"minimal", "python"}) {
            Response r = build("{\"name\":\"" + taken + "\",\"base\":\"python\"}");
            assertError(409, "invalid_state", r);
            assertEquals("template " + taken + " exists", r.json().get("error").get("message").asText());
        }
        built("mine", "python");
        assertError(409, "invalid_state", build("{\"name\":\"mine\",\"base\":\"python\"}"));
    }

    // ---- deleting --------------------------------------------------------------------------------------------

    @Test
    void deleteIs204ThenTheTemplateIsGone() throws Exception {
        built("short-lived", "python");
        Response r = delete("short-lived");
        assertEquals(204, r.status(), r.text());
        assertError(404, "not_found", show("short-lived"));
        assertError(404, "not_found", delete("short-lived"));
        assertEquals(null, listed("short-lived"));
        assertError(404, "not_found", api.create("{\"template\":\"short-lived\"}"));
        built("short-lived", "python");  // the name is free again
    }

    @Test
    void builtInAndUsedTemplatesAreNotDeleted() throws Exception {
        Response builtIn = delete("minimal");
        assertError(409, "invalid_state", builtIn);
        assertTrue(builtIn.text().contains("built-in"), builtIn.text());
        built("in-use", "python");
        String id = api.create("{\"template\":\"in-use\"}").json().get("id").asText();
        Response used = delete("in-use");
        assertError(409, "invalid_state", used);
        assertTrue(used.text().contains("used by sandboxes"), used.text());
        assertEquals(200, api.post(SandboxApiTest.PAUSE, id, null).status());
        assertError(409, "invalid_state", delete("in-use"));
        assertEquals(204, api.delete(SandboxApiTest.SANDBOX, id).status());
        assertEquals(204, delete("in-use").status());
    }

    // ---- create with templates and disk_mb -------------------------------------------------------------------

    @Test
    void createWithAnUnknownTemplateIs404AndLeavesNoRecord() {
        int before = api.get(SandboxApiTest.SANDBOXES, null).json().size();
        Response r = api.create("{\"template\":\"nope\"}");
        assertError(404, "not_found", r);
        assertEquals("no template named 'nope'", r.json().get("error").get("message").asText());
        assertEquals(before, api.get(SandboxApiTest.SANDBOXES, null).json().size());
        assertError(400, "bad_request", api.create("{\"template\":\"../etc\"}"));  // a malformed name: still 400
    }

    @ParameterizedTest(name = "disk_mb {0}")
    @CsvSource(delimiter = '|', value = {
        "\"512\"  | disk_mb must be an integer",
        "null     | disk_mb must be an integer",
        "true     | disk_mb must be an integer",
        "1.5      | disk_mb must be an integer",
        "0        | disk_mb must be 1..65536, got 0",
        "-1       | disk_mb must be 1..65536, got -1",
        "65537    | disk_mb must be 1..65536, got 65537",
        "99999999999 | disk_mb must be an integer",
    })
    void aBadDiskMbIs400(String value, String message) {
        Response r = api.create("{\"template\":\"python\",\"disk_mb\":" + value + "}");
        assertError(400, "bad_request", r);
        assertEquals(message, r.json().get("error").get("message").asText());
    }

    @Test
    void diskMbMustFitTheTemplate() {
        Response initramfs = api.create("{\"disk_mb\":1024}");
        assertError(400, "bad_request", initramfs);
        assertTrue(initramfs.text().contains("disk_mb: template minimal has no disk"), initramfs.text());
        Response small = api.create("{\"template\":\"python\",\"disk_mb\":299}");
        assertError(400, "bad_request", small);
        assertTrue(small.text().contains("disk_mb must be at least 300 for template python"), small.text());

        JsonNode sb = api.create("{\"template\":\"python\",\"disk_mb\":300}").json();
        assertEquals(300, sb.get("disk_mb").asInt(), sb.toString());
        String id = sb.get("id").asText();
        assertEquals(sb, api.get(SandboxApiTest.SANDBOX, id).json());
        JsonNode paused = api.post(SandboxApiTest.PAUSE, id, null).json();
        assertEquals(300, paused.get("disk_mb").asInt(), "kept through the lifecycle: " + paused);
        assertEquals(300, engine.find(id).orElseThrow().spec().diskMb());

        JsonNode plain = api.create("{\"template\":\"python\"}").json();
        assertFalse(plain.has("disk_mb"), "left out when not asked for: " + plain);
        assertEquals(0, engine.find(plain.get("id").asText()).orElseThrow().spec().diskMb());
    }

    // ---- configuration and restarts --------------------------------------------------------------------------

    @Test
    void aptSourcesComeFromFlagsOrTheEnvironment() {
        assertEquals(List.of(), ServerConfig.from(new String[0], Map.of()).aptSources());
        String a = "deb http://deb.example/debian bookworm main";
        String b = "deb [signed-by=/etc/apt/keyrings/x.gpg] http://x.example/apt stable main";
        assertEquals(List.of(a, b), ServerConfig.from(new String[]{"--apt-source", a, "--apt-source", b},
                Map.of()).aptSources());
        assertEquals(List.of(a, b), ServerConfig.from(new String[0], Map.of("SANDBOX_APT_SOURCES",
                a + ";\n " + b + "\n")).aptSources());
        assertEquals(List.of(b), ServerConfig.from(new String[]{"--apt-source", b},
                Map.of("SANDBOX_APT_SOURCES", a)).aptSources(), "flags replace the environment's");
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> ServerConfig.from(new String[]{"--apt-source", "deb-src http://x b main"}, Map.of()));
        assertTrue(bad.getMessage().startsWith("--apt-source: apt source 1 must be one sources.list line"),
                bad.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ServerConfig.from(
                new String[]{"--apt-source"}, Map.of())).getMessage().contains("needs a value"));
        assertEquals(List.of(a), ServerConfig.defaults("127.0.0.1", 0, Path.of("/tmp/x")).withAptSources(List.of(a))
                .aptSources());
    }

    @Test
    void buildsGetTheServersAptSourcesAndTemplatesOutliveARestart(@TempDir Path dir) throws Exception {
        List<String> sources = List.of("deb http://deb.example/debian bookworm main contrib");
        FakeEngine first = new FakeEngine(dir.resolve("vms"));
        try (SandboxServer s = TestServers.start(TestServers.config(dir.resolve("state")).withAptSources(sources),
                first)) {
            ApiClient client = new ApiClient(s.port(), CONTRACT);
            assertEquals(202, call(client, "POST", TEMPLATES, null, "{\"name\":\"kept\",\"base\":\"python\"}")
                    .status());
            assertEquals(sources, first.lastRecipe.aptSources());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (call(client, "GET", TEMPLATE, "kept", null).json().get("status").asText().equals("building")) {
                assertTrue(System.nanoTime() < deadline, "still building");
                Thread.sleep(10);
            }
        }
        try (SandboxServer s = TestServers.start(TestServers.config(dir.resolve("state")),
                new FakeEngine(dir.resolve("vms")))) {
            ApiClient client = new ApiClient(s.port(), CONTRACT);
            JsonNode kept = call(client, "GET", TEMPLATE, "kept", null).json();
            assertEquals("ready", kept.get("status").asText(), kept.toString());
            assertEquals(201, client.create("{\"template\":\"kept\"}").status());
        }
    }

    @Test
    void withoutAnEngineBuildsAre503AndTheListIsEmpty(@TempDir Path dir) {
        try (SandboxServer s = TestServers.start(TestServers.config(dir.resolve("state")),
                UnavailableEngine.because(dir.resolve("vms"), "no /dev/kvm (test)"))) {
            ApiClient client = new ApiClient(s.port(), CONTRACT);
            assertEquals(0, call(client, "GET", TEMPLATES, null, null).json().get("templates").size());
            assertError(503, "engine_unavailable", call(client, "POST", TEMPLATES, null,
                    "{\"name\":\"x\",\"base\":\"python\"}"));
            assertError(400, "bad_request", call(client, "POST", TEMPLATES, null, "{\"name\":\"x\"}"));
            Response create = client.create("{}");
            assertTrue(create.status() >= 500, "the engine's reason, as before templates: " + create.text());
        }
    }
}
