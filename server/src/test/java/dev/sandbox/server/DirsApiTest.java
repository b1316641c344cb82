package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static dev.sandbox.server.ApiClient.assertError;
import static dev.sandbox.server.ApiClient.DIRS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Directory endpoints (list, mkdir, delete) over real HTTP with {@link FakeEngine}; every answer is checked
 * against openapi-extensions.yaml (DirListing, the declared statuses, the error codes) by {@link ApiClient}.
 */
class DirsApiTest extends FakeServerTest {

    private static List<String> names(JsonNode listing) {
        List<String> names = new ArrayList<>();
        listing.get("entries").forEach(e -> names.add(e.get("name").asText()));
        return names;
    }

    @Test
    void mkdirUploadListDelete() {
        String id = create();
        Instant before = Instant.now().minusSeconds(5);
        assertEquals(204, api.mkdir(id, "/work/a/b").status());
        assertEquals(204, api.mkdir(id, "/work/a/b/").status(), "already there: still 204");
        assertEquals(204, api.upload(id, "/work/a/one.txt", "abc".getBytes()).status());
        assertEquals(204, api.upload(id, "/work/a/b/two.bin", new byte[5000]).status());

        Response r = api.listDir(id, "/work/a/");
        assertEquals(200, r.status(), r.text());
        JsonNode l = r.json();
        assertEquals("/work/a", l.get("path").asText(), "trailing slash dropped");
        assertFalse(l.get("truncated").asBoolean());
        assertEquals(List.of("b", "one.txt"), names(l), "sorted by name");
        JsonNode b = l.get("entries").get(0);
        JsonNode one = l.get("entries").get(1);
        assertEquals("dir", b.get("type").asText());
        assertEquals("file", one.get("type").asText());
        assertEquals(3, one.get("size").asLong());
        assertTrue(one.get("mode").asText().matches("[0-7]{4}"), one.toString());
        assertTrue(Instant.parse(one.get("modified_at").asText()).isAfter(before), one.toString());
        assertEquals(5000, api.listDir(id, "/work/a/b").json().get("entries").get(0).get("size").asLong());

        Response notEmpty = api.deletePath(id, "/work/a", null);
        assertError(409, "conflict", notEmpty);
        assertEquals(409, api.deletePath(id, "/work/a", "false").status());
        assertEquals(List.of("b", "one.txt"), names(api.listDir(id, "/work/a").json()), "nothing deleted");
        assertEquals(204, api.deletePath(id, "/work/a/one.txt", null).status(), "a file needs no recursive");
        assertEquals(204, api.deletePath(id, "/work/a", "true").status());
        assertError(404, "not_found", api.listDir(id, "/work/a"));
        assertEquals(List.of(), names(api.listDir(id, "/work").json()));
        assertError(404, "not_found", api.deletePath(id, "/work/a", "true"));
    }

    @Test
    void badInputIs400() {
        String id = create();
        assertEquals(204, api.upload(id, "/f.txt", "x".getBytes()).status());
        assertError(400, "bad_request", api.listDir(id, null));
        assertError(400, "bad_request", api.listDir(id, ""));
        assertError(400, "bad_request", api.listDir(id, "relative/dir"));
        assertError(400, "bad_request", api.listDir(id, "/f.txt"));  // not a directory
        assertError(400, "bad_request", api.listDir(id, "/a\0b"));
        assertError(400, "bad_request", api.listDir(id, "/" + "x".repeat(GuestPath.MAX_LENGTH)));
        assertError(400, "bad_request", api.listDir(id, "/" + "\u00e9".repeat(GuestPath.MAX_LENGTH)));  // 6 bytes each
        assertError(400, "bad_request", api.deletePath(id, "/" + "x".repeat(GuestPath.MAX_LENGTH), "true"));
        assertError(400, "bad_request", api.mkdir(id, "relative"));
        assertError(400, "bad_request", api.mkdir(id, "/"));
        assertError(400, "bad_request", api.mkdir(id, "/tmp/.."));
        assertError(400, "bad_request", api.post(ApiClient.MKDIR, id, "{}"));
        assertError(400, "bad_request", api.post(ApiClient.MKDIR, id, "not json"));
        assertError(400, "bad_request", api.post(ApiClient.MKDIR, id, "{\"path\": 7}"));
        assertError(400, "bad_request", api.deletePath(id, "/", "true"));
        assertError(400, "bad_request", api.deletePath(id, "//", "true"));
        assertError(400, "bad_request", api.deletePath(id, "/tmp/..", "true"));
        assertError(400, "bad_request", api.deletePath(id, "/tmp/.", "true"));
        assertError(400, "bad_request", api.deletePath(id, "tmp", "true"));
        assertError(400, "bad_request", api.deletePath(id, "/f.txt", "yes"));
        assertError(400, "bad_request", api.withQuery("DELETE", DIRS, id, ""));
        assertEquals(200, api.listDir(id, "/").status(), "the root may be listed");
        assertTrue(names(api.listDir(id, "/").json()).contains("f.txt"));
    }

    @Test
    void aFileInTheWayIs409() {
        String id = create();
        assertEquals(204, api.upload(id, "/data/file", "x".getBytes()).status());
        assertError(409, "conflict", api.mkdir(id, "/data/file"));
        assertError(409, "conflict", api.mkdir(id, "/data/file/below"));
        assertEquals("file", api.listDir(id, "/data").json().get("entries").get(0).get("type").asText());
    }

    @Test
    void unknownOrPausedSandbox() {
        assertError(404, "not_found", api.listDir("sb-00000000", "/"));
        assertError(404, "not_found", api.mkdir("sb-00000000", "/x"));
        assertError(404, "not_found", api.deletePath("sb-00000000", "/x", "true"));
        String id = create();
        assertEquals(200, api.post(SandboxApiTest.PAUSE, id, null).status());
        assertError(409, "invalid_state", api.listDir(id, "/"));
        assertError(409, "invalid_state", api.mkdir(id, "/x"));
        assertError(409, "invalid_state", api.deletePath(id, "/x", "true"));
        assertEquals(200, api.post(SandboxApiTest.RESUME, id, null).status());
        assertEquals(200, api.listDir(id, "/").status());
        Response put = api.raw("PUT", DIRS.replace("{id}", id) + "?path=/", null,
                java.net.http.HttpRequest.BodyPublishers.noBody());
        assertEquals(405, put.status(), put.text());
    }

    @Test
    void listingIsBoundedAndSaysSo() throws IOException {
        String id = create();
        Path big = Files.createDirectories(data.resolve("fake-vms").resolve(id).resolve("big"));
        for (int i = 0; i <= DirsService.MAX_ENTRIES; i++) {
            Files.createFile(big.resolve("f" + i));
        }
        Response r = api.listDir(id, "/big");
        assertEquals(200, r.status());
        assertTrue(r.json().get("truncated").asBoolean());
        assertEquals(DirsService.MAX_ENTRIES, r.json().get("entries").size());
        Files.delete(big.resolve("f0"));
        JsonNode exact = api.listDir(id, "/big").json();
        assertFalse(exact.get("truncated").asBoolean(), "exactly the maximum is not truncated");
        assertEquals(DirsService.MAX_ENTRIES, exact.get("entries").size());
        assertEquals(204, api.deletePath(id, "/big", "true").status());
    }

    /** A sandbox whose agent predates directory calls (protocol 1): a clear 501, and other calls still work. */
    @Test
    void oldAgentIs501() {
        String id = create();
        engine.unsupportedDirs = true;
        try {
            Response r = api.listDir(id, "/");
            assertError(501, "not_implemented", r);
            assertTrue(r.json().path("error").path("message").asText().contains("protocol version 1"), r.text());
            assertError(501, "not_implemented", api.mkdir(id, "/x"));
            assertError(501, "not_implemented", api.deletePath(id, "/x", "true"));
            assertEquals(204, api.upload(id, "/still.txt", "ok".getBytes()).status());
        } finally {
            engine.unsupportedDirs = false;
        }
    }

    /** The validator must catch a listing that breaks DirListing, or the checks above prove nothing. */
    @Test
    void validatorRejectsBadListings() {
        String ok = "{\"path\":\"/\",\"truncated\":false,\"entries\":[{\"name\":\"a\",\"type\":\"file\",\"size\":1,"
                + "\"mode\":\"0644\",\"modified_at\":\"2026-12-02T12:00:00Z\"}]}";
        CONTRACT.validateExtension("self", "DirListing", parse(ok));
        for (String bad : List.of(ok.replace("\"file\"", "\"fifo\""), ok.replace("0644", "644"),
                ok.replace("2026-12-02T12:00:00Z", "yesterday"), ok.replace(",\"truncated\":false", ""),
                ok.replace("\"size\":1", "\"size\":1,\"extra\":1"), ok.replace("\"name\":\"a\"", "\"name\":\"\""))) {
            try {
                CONTRACT.validateExtension("self", "DirListing", parse(bad));
            } catch (AssertionError expected) {
                continue;
            }
            throw new AssertionError("DirListing accepted " + bad);
        }
    }

    private static JsonNode parse(String json) {
        try {
            return ApiClient.JSON.readTree(json);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
