package dev.sandbox.server;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.EngineException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;

/** Starts the REST server over the KVM engine; SIGTERM stops every VM and flushes the state. */
public final class Main {

    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        ServerConfig config;
        try {
            config = ServerConfig.from(args, System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(2);
            return;
        }
        Files.createDirectories(config.dataDir());
        SandboxServer server;
        try {
            server = SandboxServer.start(config, openEngine(config.dataDir().resolve("vms")));
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());  // e.g. a public address without API keys
            System.exit(2);
            return;
        }
        System.out.printf("sandbox server listening on http://%s:%d (data in %s)%n",
                config.host(), server.port(), config.dataDir());
        closeOnExit(server);
    }

    /** SIGTERM or Ctrl-C: the server stops its VMs, records that, and closes the store (the only exit hook). */
    static void closeOnExit(SandboxServer server) {
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "shutdown"));
    }

    /** The KVM engine, or a stand-in that says why not: the server serves either way. */
    static Engine openEngine(Path vmDir) {
        try {
            return Engine.open(EngineConfig.defaults(vmDir, EngineConfig.guestDirFromSystemProperty()));
        } catch (EngineException | IllegalArgumentException e) {
            LOG.error("engine unavailable, sandboxes cannot be created: {}", e.getMessage());
            return UnavailableEngine.because(vmDir, e.getMessage());
        }
    }
}
