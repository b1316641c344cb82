package dev.sandbox.server;

import dev.sandbox.engine.Engine;

import java.nio.file.Path;
import java.time.Duration;

/** Server configs for tests: a free port, small limits so the limits can be reached quickly. */
final class TestServers {

    static final long MAX_FILE_BYTES = 12L * 1024 * 1024;
    static final int EXEC_OUTPUT_CAP = 64 * 1024;

    private TestServers() {
    }

    static ServerConfig config(Path dataDir) {
        return ServerConfig.defaults("127.0.0.1", 0, dataDir).withLimits(MAX_FILE_BYTES, EXEC_OUTPUT_CAP)
                .withBudget(ServerConfig.Budget.unlimited());
    }

    static ServerConfig fastReaper(Path dataDir, Duration retention) {
        return config(dataDir).withTimes(retention, Duration.ofMillis(200));
    }

    static SandboxServer start(ServerConfig config, Engine engine) {
        return SandboxServer.start(config, engine);
    }
}
