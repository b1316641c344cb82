package dev.sandbox.server;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * {@code /health} (the server, the engine and the host budget), {@code /openapi.yaml} (the contract, as bundled)
 * and {@code /openapi-extensions.yaml} (what this server adds to it), {@code /metrics} (Prometheus text).
 */
final class SystemService implements HttpService {

    private static final byte[] CONTRACT = load("/openapi.yaml");
    private static final byte[] EXTENSIONS = load("/openapi-extensions.yaml");

    /** {@code status} is ok or degraded (the engine could not open: creates fail, reads work). */
    record Health(String status, EngineHealth engine, int sandboxes, Admission.Capacity capacity,
                  java.util.Map<String, Integer> warmPool) {
    }

    record EngineHealth(String state, String message) {
    }

    /** Prometheus' text exposition format. */
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private final SandboxService sandboxes;
    private final Json json;
    private final Metrics metrics;

    SystemService(SandboxService sandboxes, Json json, Metrics metrics) {
        this.sandboxes = sandboxes;
        this.json = json;
        this.metrics = metrics;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/health", this::health)
                .get("/metrics", this::metrics)
                .get("/openapi.yaml", (req, res) -> yaml(res, CONTRACT))
                .get("/openapi-extensions.yaml", (req, res) -> yaml(res, EXTENSIONS));
    }

    private void health(ServerRequest req, ServerResponse res) {
        Health health = sandboxes.engine() instanceof UnavailableEngine down
                ? new Health("degraded", new EngineHealth("unavailable", down.reason()), sandboxes.recordCount(),
                        sandboxes.capacity(), java.util.Map.of())
                : new Health("ok", new EngineHealth("ready", null), sandboxes.recordCount(), sandboxes.capacity(),
                        sandboxes.pooled());
        json.send(res, health.status().equals("ok") ? 200 : 503, health);
    }

    private void metrics(ServerRequest req, ServerResponse res) {
        res.header(HeaderNames.CONTENT_TYPE, PROMETHEUS_TEXT)
                .send(metrics.render(sandboxes.countByStatus(), sandboxes.vmExits()).getBytes(StandardCharsets.UTF_8));
    }

    private static void yaml(ServerResponse res, byte[] document) {
        res.header(HeaderNames.CONTENT_TYPE, "application/yaml").send(document);
    }

    private static byte[] load(String resource) {
        try (InputStream in = SystemService.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " missing from the server jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
