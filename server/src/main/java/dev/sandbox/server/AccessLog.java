package dev.sandbox.server;

import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One line per request: peer, method, path, status, milliseconds. */
final class AccessLog implements Filter {

    private static final Logger LOG = LoggerFactory.getLogger("access");

    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        long start = System.nanoTime();
        try {
            chain.proceed();
        } finally {
            LOG.info("{} \"{} {}\" {} {} ms", req.remotePeer().address(), req.prologue().method().text(),
                    req.prologue().uriPath().rawPath(), res.status().code(), (System.nanoTime() - start) / 1_000_000);
        }
    }
}
