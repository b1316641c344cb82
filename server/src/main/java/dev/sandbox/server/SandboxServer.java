package dev.sandbox.server;

import dev.sandbox.engine.Engine;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.time.Clock;
import java.util.regex.Pattern;

/**
 * The whole server: the store, the service over the given engine, the reaper, and the HTTP routing. Closing it
 * stops the listener, then every VM, then flushes the store.
 */
public final class SandboxServer implements AutoCloseable {

    private final SandboxService sandboxes;
    private final Reaper reaper;
    private final PortsService ports;
    private final WebServer web;

    private SandboxServer(ServerConfig config, Engine engine) {
        ApiKeys keys = ApiKeys.from(config.access());
        keys.checkBind(config.host(), config.access().allowUnauthenticated());
        PrivateFiles.lockDown(config.dataDir());
        Json json = new Json();
        RecordStore store = RecordStore.open(config.dataDir(), config.maxRecords(), json);
        this.sandboxes = new SandboxService(engine, store, config, Clock.systemUTC());
        this.reaper = new Reaper(sandboxes, config.reapInterval());
        this.ports = new PortsService(sandboxes);
        ErrorMapper errors = new ErrorMapper(json);
        try {
            this.web = WebServer.builder()
                    .host(config.host())
                    .port(config.port())
                    .shutdownHook(false)  // ours (Main) stops the VMs and flushes the store in order
                    // a guest path (4096 characters) travels in the query of the directory calls, percent-encoded
                    .addProtocol(Http1Config.builder().maxPrologueLength(MAX_REQUEST_LINE).build())
                    .routing(r -> routing(r, config, json, errors, keys))
                    .build()
                    .start();
            if (!web.isRunning()) {
                // Helidon logs a failed bind and returns a stopped server rather than throwing.
                throw new IllegalStateException("cannot listen on " + config.host() + ":" + config.port());
            }
        } catch (RuntimeException e) {
            // e.g. the port is taken: leave the store closed cleanly, not for recovery
            ports.close();
            reaper.close();
            sandboxes.close();
            throw e;
        }
    }

    /** Opens the store in {@code config.dataDir()} and starts listening. */
    public static SandboxServer start(ServerConfig config, Engine engine) {
        return new SandboxServer(config, engine);
    }

    private void routing(HttpRouting.Builder routing, ServerConfig config, Json json, ErrorMapper errors,
                         ApiKeys keys) {
        Metrics metrics = new Metrics();
        routing.addFilter(new AccessLog())
                .addFilter(new MetricsFilter(metrics))
                .addFilter(new ApiKeyFilter(keys))
                .error(Throwable.class, errors::handle)  // Errors too: a LinkageError must not become text/plain
                .register(new SystemService(sandboxes, json, metrics))
                .register("/v1/sandboxes", new SandboxesService(sandboxes, json, metrics))
                .register("/v1/sandboxes", new ExecService(sandboxes, json, config.maxExecTimeoutSec(), metrics))
                .register("/v1/sandboxes", new FilesService(sandboxes, json, config.maxFileBytes(),
                        config.dataDir().resolve("uploads"), metrics))
                .register("/v1/sandboxes", new DirsService(sandboxes, json))
                .register("/v1/sandboxes", new ProcessesService(sandboxes, json))
                .register("/v1/sandboxes", ports)
                .register(TemplatesService.PATH, new TemplatesService(sandboxes.engine(), json, config.aptSources()))
                .any(SandboxServer::noRoute);
    }

    /** Paths the API serves with some method: another method on them is a 405, anything else a 404. */
    /** Request line bound: a 4096-character path percent-encoded (up to 12 bytes a character, UTF-8) fits. */
    static final int MAX_REQUEST_LINE = 64 * 1024;

    private static final Pattern KNOWN_PATHS = Pattern.compile(
            "/health|/metrics|/openapi\\.yaml|/openapi-extensions\\.yaml|/v1/sandboxes/?|/v1/sandboxes/[^/]+(/(exec|exec/stream|pause|resume|files|files/write|files/read|files/mkdir|processes|processes/[^/]+|processes/[^/]+/stream|processes/[^/]+/signal))?|/v1/templates/?|/v1/templates/[^/]+");

    private static void noRoute(ServerRequest req, ServerResponse res) {
        String path = req.prologue().uriPath().path();
        String what = req.prologue().method().text() + " " + path;
        throw KNOWN_PATHS.matcher(path).matches()
                ? ApiError.METHOD_NOT_ALLOWED.exception("method not allowed: " + what)
                : ApiError.NOT_FOUND.exception("no route for " + what);
    }

    public int port() {
        return web.port();
    }

    @Override
    public void close() {
        try {
            web.stop();
            ports.close();
            reaper.close();
        } finally {
            sandboxes.close();
        }
    }
}
