package dev.sandbox.server;

import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The routing. Until the engine can boot a sandbox (issues 5 and 6), every {@code /v1} operation answers 501 with
 * the contract's error body rather than pretending to work.
 */
final class Routes {

    private static final byte[] CONTRACT = load("/openapi.yaml");

    private Routes() {
    }

    static void register(HttpRouting.Builder routing) {
        routing.get("/health", Routes::health)
                .get("/openapi.yaml", Routes::contract)
                .any("/v1/*", Routes::notImplemented);
    }

    private static void health(ServerRequest req, ServerResponse res) {
        res.header(HeaderNames.CONTENT_TYPE, "application/json").send("{\"status\":\"ok\"}");
    }

    private static void contract(ServerRequest req, ServerResponse res) {
        res.header(HeaderNames.CONTENT_TYPE, "application/yaml").send(CONTRACT);
    }

    private static void notImplemented(ServerRequest req, ServerResponse res) {
        res.status(Status.NOT_IMPLEMENTED_501)
                .header(HeaderNames.CONTENT_TYPE, "application/json")
                .send("{\"error\":{\"code\":\"not_implemented\",\"message\":\"sandboxes cannot be created yet: "
                        + "the VMM is not wired to the server\"}}");
    }

    private static byte[] load(String resource) {
        try (InputStream in = Routes.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " missing from the server jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
