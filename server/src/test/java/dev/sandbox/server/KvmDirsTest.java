package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.sandbox.server.ApiClient.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Directory endpoints over the real KVM engine and the real guest agent (protocol 2), end to end through HTTP,
 * every answer checked against openapi-extensions.yaml: mkdir, uploads, listings (names, types, sizes, a symlink
 * and a FIFO), 409 for a non-empty delete, a listing that survives pause/resume, a recursive delete that follows
 * no symlink out of the tree and crosses no mount point. One boot. Needs /dev/kvm and {@code -Dsandbox.guest.dir}.
 */
@Tag("kvm")
class KvmDirsTest {

    private static String sh(ApiClient api, String id, String script) {
        Response r = api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\"," + ApiClient.quote(script) + "]}");
        assertEquals(200, r.status(), r.text());
        assertEquals(0, r.json().get("exit_code").asInt(), r.text());
        return r.json().get("stdout").asText();
    }

    /** name → "type size" of each entry, in the order the server answered (sorted by name). */
    private static Map<String, String> listing(ApiClient api, String id, String path) {
        Response r = api.listDir(id, path);
        assertEquals(200, r.status(), r.text());
        assertEquals(false, r.json().get("truncated").asBoolean());
        Map<String, String> m = new LinkedHashMap<>();
        for (JsonNode e : r.json().get("entries")) {
            m.put(e.get("name").asText(), e.get("type").asText() + " " + e.get("size").asLong());
        }
        return m;
    }

    @Test
    void directoriesThroughTheApi(@TempDir Path dir) {
        try (RealServer real = RealServer.start(dir)) {
            ApiClient api = real.api();
            long t0 = System.nanoTime();
            Response created = api.create("{\"memory_mb\":256}");
            assertEquals(201, created.status(), created.text());
            String id = created.json().get("id").asText();
            System.out.printf("create: %d ms%n", (System.nanoTime() - t0) / 1_000_000);

            t0 = System.nanoTime();
            assertEquals(204, api.mkdir(id, "/work/tree/sub").status());
            assertEquals(204, api.mkdir(id, "/work/tree/sub").status(), "mkdir of an existing directory");
            assertEquals(204, api.upload(id, "/work/tree/a.txt", "abc".getBytes(StandardCharsets.UTF_8)).status());
            assertEquals(204, api.upload(id, "/work/tree/sub/b.bin", new byte[100_000]).status());
            sh(api, id, "mkdir -p /keep && echo keep > /keep/file && ln -s /keep /work/tree/sub/out"
                    + " && mkfifo /work/tree/pipe");

            Map<String, String> top = listing(api, id, "/work/tree");
            assertEquals(List.of("a.txt", "pipe", "sub"), new ArrayList<>(top.keySet()));
            assertEquals("file 3", top.get("a.txt"));
            assertEquals("other 0", top.get("pipe"));
            assertTrue(top.get("sub").startsWith("dir "), top.toString());
            Map<String, String> sub = listing(api, id, "/work/tree/sub");
            assertEquals("file 100000", sub.get("b.bin"));
            assertEquals("symlink 5", sub.get("out"), "the link itself (target \"/keep\"), not followed");
            assertEquals("0644", api.listDir(id, "/work/tree").json().get("entries").get(0).get("mode").asText());

            assertError(409, "conflict", api.deletePath(id, "/work/tree", null));
            assertError(409, "conflict", api.mkdir(id, "/work/tree/a.txt"));
            assertError(400, "bad_request", api.listDir(id, "/work/tree/a.txt"));
            assertError(400, "bad_request", api.deletePath(id, "/", "true"));
            assertError(404, "not_found", api.listDir(id, "/work/nope"));
            assertError(404, "not_found", api.deletePath(id, "/work/nope", "true"));
            System.out.printf("directory calls: %d ms%n", (System.nanoTime() - t0) / 1_000_000);

            assertEquals("paused", api.post(SandboxApiTest.PAUSE, id, null).json().get("status").asText());
            assertError(409, "invalid_state", api.listDir(id, "/work/tree"));
            assertEquals("running", api.post(SandboxApiTest.RESUME, id, null).json().get("status").asText());
            assertEquals(top, listing(api, id, "/work/tree"), "the listing survives pause/resume");
            assertEquals(sub, listing(api, id, "/work/tree/sub"));

            assertEquals(204, api.deletePath(id, "/work/tree", "true").status());
            assertError(404, "not_found", api.listDir(id, "/work/tree"));
            assertEquals("keep\n", api.download(id, "/keep/file").text(), "the symlink's target is untouched");
            assertEquals(List.of(), new ArrayList<>(listing(api, id, "/work").keySet()));

            // a mount point inside the tree is not crossed
            sh(api, id, "mkdir -p /work/m/mnt && mount -t tmpfs none /work/m/mnt && echo x > /work/m/mnt/inside");
            assertError(403, "permission_denied", api.deletePath(id, "/work/m", "true"));
            assertEquals("x\n", api.download(id, "/work/m/mnt/inside").text());
            sh(api, id, "umount /work/m/mnt");
            assertEquals(204, api.deletePath(id, "/work/m", "true").status());

            assertEquals(204, api.delete(SandboxApiTest.SANDBOX, id).status());
        }
    }
}
