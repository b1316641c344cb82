package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.engine.NetworkSpec;
import dev.sandbox.engine.PoolShape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --warm-pool: parsed strictly, handed to the engine, and its clones counted against the host budget. */
class WarmPoolConfigTest {

    @Test
    void theOptionIsParsedStrictly() {
        ServerConfig.WarmPool pool = ServerConfig.from(new String[] {"--warm-pool", "minimal:1:512=2, minimal:2:1024=1",
                "--warm-pool-idle", "30"}, Map.of()).warmPool();
        assertEquals(List.of(new ServerConfig.WarmPool.Entry("minimal", 1, 512, 2),
                new ServerConfig.WarmPool.Entry("minimal", 2, 1024, 1)), pool.entries());
        assertEquals(Duration.ofSeconds(30), pool.idle());
        assertEquals(List.of(), ServerConfig.from(new String[0], Map.of()).warmPool().entries(), "none by default");
        assertEquals(1, ServerConfig.from(new String[0], Map.of("SANDBOX_WARM_POOL", "minimal:1:256=3")).warmPool()
                .entries().size());
        for (String bad : List.of("minimal:1:512", "minimal=2", ":1:512=2", "minimal:0:512=1", "minimal:1:x=1",
                "../x:1:512=1")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ServerConfig.from(new String[] {"--warm-pool", bad}, Map.of()), bad);
            assertTrue(e.getMessage().contains("--warm-pool"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class,
                () -> ServerConfig.from(new String[] {"--warm-pool-idle", "0"}, Map.of()));
    }

    @Test
    void poolClonesAreCountedInAdmissionAndShownInHealth(@TempDir Path dir) throws Exception {
        FakeEngine engine = new FakeEngine(dir.resolve("vms"));
        ServerConfig config = TestServers.config(dir.resolve("state"))
                .withBudget(new ServerConfig.Budget(1024, 1.0, 100, 100, 0, 7))
                .withWarmPool(new ServerConfig.WarmPool(List.of(new ServerConfig.WarmPool.Entry("minimal", 1, 512,
                        1)), Duration.ofMinutes(5)));
        try (SandboxServer s = TestServers.start(config, engine)) {
            PoolShape shape = new PoolShape("minimal", 1, 512, config.network() ? NetworkSpec.DEFAULT : null);
            assertEquals(Map.of(shape, 1), engine.poolSizes, "the pool shape carries the server's default network");
            ApiClient api = new ApiClient(s.port(), SandboxApiTest.CONTRACT);

            assertTrue(engine.poolGate.admit("pool-1", 1, 512), "room for one clone");
            JsonNode memory = api.health().json().get("capacity").get("memory_mb");
            assertEquals(512, memory.get("used").asInt(), "the clone holds its memory");
            assertEquals(503, api.create("{\"memory_mb\":768}").status(), "a create that does not fit beside it");
            assertFalse(engine.poolGate.admit("pool-2", 1, 768), "nor does a second clone that would not fit");

            engine.poolGate.release("pool-1"); // handed out or released
            assertEquals(0, api.health().json().get("capacity").get("memory_mb").get("used").asInt());
            assertEquals(201, api.create("{\"memory_mb\":768}").status());
            assertTrue(api.health().json().has("warm_pool"), api.health().text());
        }
    }
}
