package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The warm pool through the REST API on real microVMs: a pooled clone comes with the server's default network (its
 * own namespace, TAP and host address, made ahead of time), its own hostname, and counts in the host budget.
 */
@Tag("kvm")
class KvmWarmPoolTest {
    private static final String SHAPE = "minimal:1:256:net";

    @Test
    void aCreateFromThePoolHasItsOwnNetworkAndIsCountedInTheBudget(@TempDir Path dir) throws Exception {
        try (StandInInternet internet = StandInInternet.start(dir);
             RealServer real = RealServer.start(dir, TestServers.config(dir.resolve("state"))
                     .withWarmPool(new ServerConfig.WarmPool(List.of(new ServerConfig.WarmPool.Entry("minimal", 1,
                             256, 1)), Duration.ofMinutes(10))))) {
            ApiClient api = real.api();
            awaitPool(api, 1);
            JsonNode capacity = api.health().json().get("capacity");
            assertEquals(256, capacity.get("memory_mb").get("used").asInt(), "the pool clone holds its memory: "
                    + capacity);

            long t0 = System.nanoTime();
            Response created = api.create("{\"memory_mb\":256}");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(201, created.status(), created.text());
            String a = created.json().get("id").asText();
            System.out.println("REST create served by the warm pool: " + ms + " ms");
            assertEquals("0\n" + a + "\n", sh(api, a, "hostname"));
            String url = "http://" + StandInInternet.SERVER + "/" + StandInInternet.FILE;
            assertEquals("0\n" + internet.body, sh(api, a, "timeout 3 wget -q -O - " + url), "its network works");

            awaitPool(api, 1); // refilled: a second pooled clone, with a network of its own
            String b = api.create("{\"memory_mb\":256}").json().get("id").asText();
            JsonNode sa = api.get("/v1/sandboxes/{id}", a).json();
            JsonNode sb = api.get("/v1/sandboxes/{id}", b).json();
            assertEquals(sa.get("guest_ip").asText(), sb.get("guest_ip").asText(), "clones keep the address");
            assertNotEquals(sa.get("host_ip").asText(), sb.get("host_ip").asText(), "host_ip is per sandbox");
            assertEquals("0\n" + internet.body, sh(api, b, "timeout 3 wget -q -O - " + url));

            assertEquals(204, api.delete("/v1/sandboxes/{id}", a).status());
            assertEquals(204, api.delete("/v1/sandboxes/{id}", b).status());
            awaitPool(api, 1);
            assertEquals(256, api.health().json().get("capacity").get("memory_mb").get("used").asInt(),
                    "only the pool's clone left");
        }
    }

    private static void awaitPool(ApiClient api, int ready) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        JsonNode pool = null;
        while (System.nanoTime() < deadline) {
            pool = api.health().json().get("warm_pool");
            if (pool != null && pool.path(SHAPE).asInt() >= ready) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the warm pool did not fill: " + pool);
    }

    private static String sh(ApiClient api, String id, String script) {
        Response r = api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\"," + ApiClient.quote(script) + "]}");
        assertEquals(200, r.status(), r.text());
        return r.json().get("exit_code").asInt() + "\n" + r.json().get("stdout").asText();
    }
}
