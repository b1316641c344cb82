package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Base64;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The API over the real KVM engine: one sandbox, a handful of requests (each boot is slow in the nested host).
 * Needs /dev/kvm and {@code -Dsandbox.guest.dir}; tools/test runs it.
 */
@Tag("kvm")
class KvmServerTest {

    @Test
    void oneSandboxThroughTheWholeApi(@TempDir Path dir) {
        Engine engine = Engine.open(EngineConfig.defaults(dir.resolve("vms"),
                EngineConfig.guestDirFromSystemProperty()));
        try (SandboxServer server = SandboxServer.start(TestServers.config(dir.resolve("state")), engine)) {
            ApiClient api = new ApiClient(server.port(), new ContractValidator());

            Response created = api.create("{\"memory_mb\":256}");
            assertEquals(201, created.status(), created.text());
            String id = created.json().get("id").asText();
            assertEquals("running", created.json().get("status").asText());

            JsonNode hello = api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"echo hello; uname -s\"]}").json();
            assertEquals("hello\nLinux\n", hello.get("stdout").asText(), hello.toString());
            assertEquals(0, hello.get("exit_code").asInt());

            JsonNode binary = api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"printf '\\\\377'\"]}").json();
            assertEquals("base64", binary.get("encoding").asText());
            assertArrayEquals(new byte[]{(byte) 0xff}, Base64.getDecoder().decode(binary.get("stdout").asText()));

            JsonNode slow = api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"echo a; sleep 30\"],"
                    + "\"timeout_sec\":2}").json();
            assertEquals(124, slow.get("exit_code").asInt(), slow.toString());
            assertTrue(slow.get("timed_out").asBoolean());

            byte[] data = new byte[1024 * 1024];
            new Random(7).nextBytes(data);
            assertEquals(204, api.upload(id, "/blob.bin", data).status());
            assertArrayEquals(data, api.download(id, "/blob.bin").body());
            assertEquals(404, api.download(id, "/no/such/file").status());

            assertEquals("paused", api.post(SandboxApiTest.PAUSE, id, null).json().get("status").asText());
            assertEquals(409, api.exec(id, "{\"cmd\":\"/bin/sh\"}").status());
            assertEquals("running", api.post(SandboxApiTest.RESUME, id, null).json().get("status").asText());
            JsonNode ok = api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"echo ok\"]}").json();
            assertEquals("ok\n", ok.get("stdout").asText(), ok.toString());

            assertEquals(204, api.delete(SandboxApiTest.SANDBOX, id).status());
            assertEquals("stopped", api.get(SandboxApiTest.SANDBOX, id).json().get("status").asText());
        }
    }
}
