package dev.sandbox.server;

import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

/** Counts and times every request by method, route template and status class (see {@link Metrics}). */
final class MetricsFilter implements Filter {

    private final Metrics metrics;

    MetricsFilter(Metrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        long start = System.nanoTime();
        try {
            chain.proceed();
        } finally {
            metrics.request(req.prologue().method().text(), req.prologue().uriPath().path(), res.status().code(),
                    System.nanoTime() - start);
        }
    }
}
