package dev.sandbox.server;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

import java.util.Set;

/**
 * With keys configured, every call but health, metrics and the OpenAPI documents needs a known {@code X-API-Key}.
 * Metrics are open like health: scrapers and probes sit beside the server, and they show counts, no ids or data.
 */
final class ApiKeyFilter implements Filter {

    static final HeaderName X_API_KEY = HeaderNames.create("X-API-Key");
    private static final Set<String> OPEN = Set.of("/health", "/metrics", "/openapi.yaml", "/openapi-extensions.yaml");

    private final ApiKeys keys;

    ApiKeyFilter(ApiKeys keys) {
        this.keys = keys;
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        if (keys.required() && !OPEN.contains(req.prologue().uriPath().path())
                && !keys.accepts(req.headers().first(X_API_KEY).orElse(null))) {
            throw ApiError.UNAUTHORIZED.exception(req.headers().contains(X_API_KEY) ? "unknown API key"
                    : "this server needs an API key in the X-API-Key header");
        }
        chain.proceed();
    }
}
