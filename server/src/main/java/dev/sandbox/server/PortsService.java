package dev.sandbox.server;

import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * {@code ANY /v1/sandboxes/{id}/ports/{port}/{path}}: a reverse proxy to a port of the sandbox, at its host address.
 * The request (method, path after the port, query, headers but hop-by-hop ones, Host and the API key, body) goes to
 * {@code http://<host_ip>:<port>/<path>} over HTTP/1.1, and the answer (status, headers but hop-by-hop ones, body)
 * comes back. Both bodies are streamed a buffer at a time, each piece of the answer flushed as it arrives, so server
 * sent events and large downloads pass. Protocol upgrades (WebSocket) are refused with 501.
 * <p>
 * The request holds the sandbox's gate while it runs: the reaper leaves the sandbox alone, and a pause or destroy
 * cuts the request at once (before the answer: 409; during it: the connection is closed).
 */
final class PortsService implements HttpService, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PortsService.class);

    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** Until the answer's status and headers; its body then takes as long as it takes (a stream may last). */
    static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(300);
    private static final int BUFFER = 64 * 1024;

    /** RFC 9110 7.6.1: meant for one connection, never forwarded (and those the Connection header names). */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection",
            "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
            "http2-settings");
    /** Set by the client library (host, content-length), answered here (expect), or ours alone (the API key). */
    private static final Set<String> NOT_FORWARDED = Set.of("host", "content-length", "expect",
            ApiKeyFilter.X_API_KEY.lowerCase());

    private final SandboxService sandboxes;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)  // no h2c upgrade attempt towards the guest's server
            .connectTimeout(CONNECT_TIMEOUT)
            .followRedirects(HttpClient.Redirect.NEVER)  // the caller sees the sandbox's redirects as they are
            .executor(executor)
            .build();

    PortsService(SandboxService sandboxes) {
        this.sandboxes = sandboxes;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.any("/{id}/ports/{port}", this::forward)
                .any("/{id}/ports/{port}/*", this::forward);
    }

    private void forward(ServerRequest req, ServerResponse res) {
        String id = SandboxesService.id(req);
        sandboxes.get(id);  // an unknown sandbox is a 404 whatever else is wrong
        int port = port(req.path().pathParameters().get("port"));
        // An h2c upgrade is an offer a server may ignore (RFC 9113 3.1 via RFC 9110 7.8): the JDK's client sends
        // it on every plain-HTTP call, so it is answered in HTTP/1.1. Any other upgrade (WebSocket) is refused.
        if (req.headers().contains(HeaderNames.UPGRADE) && !onlyH2c(req.headers().get(HeaderNames.UPGRADE).values())) {
            throw ApiError.NOT_IMPLEMENTED.exception("protocol upgrades (" + req.headers().get(HeaderNames.UPGRADE)
                    .values() + ") are not proxied to sandbox ports: plain HTTP/1.1 only");
        }
        String where = "port " + port + " of sandbox " + id;
        Flight flight = new Flight();
        StreamingBody body = null;
        try (SandboxService.PortLease lease = sandboxes.openPort(id, why -> flight.cut())) {
            // the body is taken only now: a refusal above leaves it to Helidon, which drains it as for any call
            body = req.content().hasEntity() ? new StreamingBody(req.content().inputStream(),
                    req.headers().contentLength().orElse(-1L), executor) : null;
            HttpRequest upstream = upstream(req, body, lease.hostIp(), port, "/v1/sandboxes/" + id + "/ports/"
                    + port);
            HttpResponse<InputStream> answer;
            try {
                answer = flight.started(http.sendAsync(upstream, HttpResponse.BodyHandlers.ofInputStream())).get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw lease.failed(ApiError.UPSTREAM_ERROR.exception(where + ": interrupted"));
            } catch (ExecutionException | CancellationException e) {
                throw lease.failed(unreachable(where, e instanceof ExecutionException ? e.getCause() : e));
            }
            flight.answered(answer.body());
            lease.answered();
            relay(answer, req, res, where);
            lease.answered();  // a long answer (a stream) is activity to its end
        } finally {
            if (body != null) {
                body.stop();  // an answer that came before the whole body: Helidon's again from here
            }
        }
    }

    /** One request's exchange with the sandbox, which a pause or destroy cuts wherever it is. */
    private static final class Flight {
        private boolean cut;
        private CompletableFuture<?> pending;
        private InputStream body;

        synchronized <T extends CompletableFuture<?>> T started(T f) {
            pending = f;
            if (cut) {
                f.cancel(true);
            }
            return f;
        }

        synchronized void answered(InputStream in) {
            body = in;
            if (cut) {
                close(in);
            }
        }

        synchronized void cut() {
            cut = true;
            if (pending != null) {
                pending.cancel(true);
            }
            if (body != null) {
                close(body);
            }
        }

        private static void close(InputStream in) {
            try {
                in.close();  // the reader's next read fails: the answer ends as cut
            } catch (IOException ignored) {
                // closing is all there is to do
            }
        }
    }

    static int port(String text) {
        int port;
        try {
            port = Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw Fields.bad("port must be a number 1..65535, got '" + text + "'");
        }
        if (port < 1 || port > 65535) {
            throw Fields.bad("port must be 1..65535, got " + port);
        }
        return port;
    }

    private static HttpRequest upstream(ServerRequest req, StreamingBody body, String hostIp, int port,
                                        String prefix) {
        String method = req.prologue().method().text();
        URI uri;
        try {
            uri = URI.create("http://" + hostIp + ":" + port + rest(req.prologue().uriPath().rawPath())
                    + (req.prologue().hasQuery() ? "?" + req.prologue().query().rawValue() : ""));
        } catch (IllegalArgumentException e) {
            throw Fields.bad("the path or query cannot be forwarded: " + e.getMessage());
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(ANSWER_TIMEOUT);
        Set<String> dropped = dropped(req.headers().all(HeaderNames.CONNECTION, List::of));
        try {
            for (Header h : req.headers()) {
                if (!dropped.contains(h.name().toLowerCase(Locale.ROOT))) {
                    for (String v : h.allValues()) {
                        b.header(h.name(), v);
                    }
                }
            }
            forwardedFor(req, b, prefix);
            b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : body);
        } catch (IllegalArgumentException e) {
            // the JDK client refuses some methods (CONNECT) and header names
            throw Fields.bad("cannot forward this request: " + e.getMessage());
        }
        return b.build();
    }

    /** The raw path after {@code /v1/sandboxes/{id}/ports/{port}}, "/" when there is none. */
    static String rest(String rawPath) {
        int slash = -1;
        for (int i = 0; i < 6; i++) {  // the sixth slash starts the rest: /v1/sandboxes/{id}/ports/{port}/
            slash = rawPath.indexOf('/', slash + 1);
            if (slash < 0) {
                return "/";
            }
        }
        return rawPath.substring(slash);
    }

    /** Who asked and where, for the sandbox's server: the usual X-Forwarded headers (a proxy's before us kept). */
    private static void forwardedFor(ServerRequest req, HttpRequest.Builder b, String prefix) {
        String peer = req.remotePeer().address() instanceof InetSocketAddress a
                ? a.getAddress().getHostAddress() : String.valueOf(req.remotePeer().address());
        String before = String.join(", ", req.headers().all(HeaderNames.X_FORWARDED_FOR, List::of));
        b.setHeader("X-Forwarded-For", before.isEmpty() ? peer : before + ", " + peer);
        if (!req.headers().contains(HeaderNames.X_FORWARDED_HOST)) {
            req.headers().first(HeaderNames.HOST).ifPresent(h -> b.setHeader("X-Forwarded-Host", h));
        }
        if (!req.headers().contains(HeaderNames.X_FORWARDED_PROTO)) {
            b.setHeader("X-Forwarded-Proto", "http");
        }
        if (!req.headers().contains(HeaderNames.X_FORWARDED_PREFIX)) {
            b.setHeader("X-Forwarded-Prefix", prefix);  // links the sandbox's app makes can start with it
        }
    }

    /** Connection refused or reset before the answer: 502; no connection or no answer in time: 504. */
    private static ApiException unreachable(String where, Throwable e) {
        return switch (e) {
            case HttpConnectTimeoutException t -> ApiError.TIMEOUT.exception(where + ": no connection within "
                    + CONNECT_TIMEOUT.toSeconds() + " s");
            case HttpTimeoutException t -> ApiError.TIMEOUT.exception(where + ": no answer within "
                    + ANSWER_TIMEOUT.toSeconds() + " s");
            case ConnectException c -> ApiError.UPSTREAM_ERROR.exception("nothing listens on " + where
                    + " (connection refused)");
            case CancellationException c -> ApiError.UPSTREAM_ERROR.exception(where + ": the request was cut");
            default -> ApiError.UPSTREAM_ERROR.exception(where + ": no answer (" + e + ")");
        };
    }

    private static void relay(HttpResponse<InputStream> answer, ServerRequest req, ServerResponse res, String where) {
        res.status(Status.create(answer.statusCode()));
        Map<String, List<String>> headers = answer.headers().map();
        Set<String> dropped = dropped(headers.getOrDefault("connection", List.of()));
        dropped.remove("content-length");  // the answer's length, when it has one, passes (a download's size)
        headers.forEach((name, values) -> {
            if (!dropped.contains(name.toLowerCase(Locale.ROOT)) && !name.startsWith(":")) {
                res.header(HeaderNames.create(name), values.toArray(String[]::new));
            }
        });
        int status = answer.statusCode();
        try (InputStream in = answer.body()) {
            if (req.prologue().method().text().equals("HEAD") || status == 204 || status == 304) {
                res.send();
                return;
            }
            OutputStream out = res.outputStream();
            byte[] buf = new byte[BUFFER];
            int n;
            while ((n = readUpstream(in, buf, where)) >= 0) {
                out.write(buf, 0, n);
                out.flush();  // each piece as it comes: server sent events, progress
            }
            out.close();  // only now: closing after a failure would end a cut answer as if it were whole
        } catch (IOException | UncheckedIOException | CloseConnectionException e) {
            // The caller went away, or the sandbox (or a pause) cut the answer: with the status sent, closing the
            // connection is the only way left to say so.
            LOG.info("{}: the answer was cut ({})", where, e.getMessage());
            throw new CloseConnectionException(where + ": the answer was cut", e);
        }
    }

    private static int readUpstream(InputStream in, byte[] buf, String where) throws IOException {
        try {
            return in.read(buf);
        } catch (IOException e) {
            throw new IOException(where + ": the answer broke off", e);
        }
    }

    /** Hop-by-hop headers and the ones {@code connection} names, lower case. */
    private static Set<String> dropped(List<String> connection) {
        Set<String> out = new HashSet<>(HOP_BY_HOP);
        out.addAll(NOT_FORWARDED);
        for (String v : connection) {
            for (String name : v.split(",")) {
                if (!name.isBlank()) {
                    out.add(name.trim().toLowerCase(Locale.ROOT));
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        http.shutdownNow();
        executor.shutdownNow();
    }

    static boolean onlyH2c(String upgrade) {
        for (String token : upgrade.split(",")) {
            if (!token.strip().equalsIgnoreCase("h2c")) {
                return false;
            }
        }
        return true;
    }
}
