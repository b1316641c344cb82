package dev.sandbox.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/**
 * One real server over a {@link FakeEngine} for a whole test class, every answer checked against the contract and
 * the extensions by {@link ApiClient}. The fields are static, so they belong to whichever class runs now: test
 * classes run one after the other here (no parallel execution).
 */
abstract class FakeServerTest {

    static final ContractValidator CONTRACT = new ContractValidator();
    static Path data;
    static FakeEngine engine;
    static SandboxServer server;
    static ApiClient api;

    @BeforeAll
    static void startServer(@TempDir Path dir) {
        data = dir;
        engine = new FakeEngine(dir.resolve("fake-vms"));
        server = TestServers.start(TestServers.config(dir.resolve("state")), engine);
        api = new ApiClient(server.port(), CONTRACT);
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    /** A new running sandbox's id. */
    static String create() {
        return SandboxApiTest.createRunning(api);
    }
}
