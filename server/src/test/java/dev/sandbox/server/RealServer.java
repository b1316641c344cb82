package dev.sandbox.server;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;

import java.nio.file.Path;

/**
 * The real server over the real engine (needs /dev/kvm and {@code -Dsandbox.guest.dir}), its VMs and state in a
 * test's folder, with a client that checks every answer against the contract. Closing it stops the server and its
 * engine.
 */
record RealServer(SandboxServer server, ApiClient api) implements AutoCloseable {

    static RealServer start(Path dir) {
        return start(dir, TestServers.config(dir.resolve("state")));
    }

    static RealServer start(Path dir, ServerConfig config) {
        Engine engine = Engine.open(EngineConfig.defaults(dir.resolve("vms"), EngineConfig.guestDirFromSystemProperty()));
        SandboxServer server = SandboxServer.start(config, engine);
        return new RealServer(server, new ApiClient(server.port(), new ContractValidator()));
    }

    @Override
    public void close() {
        server.close();
    }
}
