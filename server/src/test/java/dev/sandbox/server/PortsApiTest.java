package dev.sandbox.server;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static dev.sandbox.server.ApiClient.assertError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code /v1/sandboxes/{id}/ports/{port}/{path}} over real HTTP with {@link FakeEngine}, whose sandboxes sit at
 * 127.0.0.1: a JDK HttpServer on loopback stands in for the server in the guest. Requests and answers pass with
 * their method, path, query, status, headers and bodies, both bodies streamed; the proxy's own refusals carry the
 * contract's error body and are checked against openapi-extensions.yaml.
 */
class PortsApiTest extends FakeServerTest {

    static final String PORTS = "/v1/sandboxes/{id}/ports/{port}/{path}";

    private static HttpServer upstream;
    private static int port;
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    /** Latches the upstream's slow handlers wait on, by the request's {@code key} query parameter. */
    private static final Map<String, CountDownLatch> GATES = new ConcurrentHashMap<>();
    /** Set when a slow handler waited for its latch in vain: what it held back never came through on time. */
    private static final AtomicBoolean GAVE_UP = new AtomicBoolean();

    @BeforeAll
    static void startUpstream() throws IOException {
        upstream = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        upstream.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        upstream.createContext("/", ex -> {
            try (ex) {
                handle(ex);
            } catch (IOException | RuntimeException e) {
                // a cut exchange: the test on the other side checks what it saw
            }
        });
        upstream.start();
        port = upstream.getAddress().getPort();
    }

    @AfterAll
    static void stopUpstream() {
        GATES.values().forEach(CountDownLatch::countDown);
        upstream.stop(0);
    }

    private static void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getRawPath();
        String query = ex.getRequestURI().getRawQuery();
        String key = query != null && query.startsWith("key=") ? query.substring(4) : "";
        var h = ex.getResponseHeaders();
        switch (path) {
            case "/created" -> {
                h.add("X-Custom", "yes");
                h.add("Set-Cookie", "a=1");
                h.add("Set-Cookie", "b=2");
                h.add("Location", "/elsewhere");
                byte[] body = "made".getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(201, body.length);
                ex.getResponseBody().write(body);
            }
            case "/redirect" -> {
                h.add("Location", "/created");
                ex.sendResponseHeaders(302, -1);
            }
            case "/nothing" -> ex.sendResponseHeaders(204, -1);
            case "/hold" -> {  // says it is there, then answers only when the test says so
                GATES.computeIfAbsent(key + "-entered", k -> new CountDownLatch(1)).countDown();
                await(key);
                ex.sendResponseHeaders(200, -1);
            }
            case "/slow" -> {  // a first line, then the rest only when the test says so
                OutputStream out = ex.getResponseBody();
                ex.sendResponseHeaders(200, 0);
                out.write("first\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
                await(key);
                out.write("second\n".getBytes(StandardCharsets.UTF_8));
            }
            case "/big" -> {
                int n = Integer.parseInt(query.substring(2));
                ex.sendResponseHeaders(200, n);
                OutputStream out = ex.getResponseBody();
                Random random = new Random(n);
                byte[] buf = new byte[64 * 1024];
                for (int left = n; left > 0; left -= buf.length) {
                    random.nextBytes(buf);
                    out.write(buf, 0, Math.min(left, buf.length));
                }
            }
            case "/gated-upload" -> {  // the first 64 KiB, then the word that they came, then the rest
                InputStream in = ex.getRequestBody();
                long n = 0;
                byte[] buf = new byte[8192];
                // not readNBytes: its last, empty read blocks in the JDK server's chunked stream for the next chunk
                for (int k; n < 64 * 1024 && (k = in.read(buf, 0, (int) Math.min(buf.length, 64 * 1024 - n))) > 0; ) {
                    n += k;
                }
                GATES.get(key).countDown();
                n += in.transferTo(OutputStream.nullOutputStream());
                byte[] body = String.valueOf(n).getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body);
            }
            case "/cut" -> {  // promises 1000 bytes, sends 10 and hangs up
                ex.sendResponseHeaders(200, 1000);
                ex.getResponseBody().write(new byte[10]);
                ex.getResponseBody().flush();
                throw new IOException("hung up on purpose");
            }
            default -> echo(ex, path, query);
        }
    }

    /** What the request looked like, in headers; the body's SHA-256 and length as the answer. */
    private static void echo(HttpExchange ex, String path, String query) throws IOException {
        var in = ex.getRequestHeaders();
        var h = ex.getResponseHeaders();
        h.add("X-Seen-Method", ex.getRequestMethod());
        h.add("X-Seen-Uri", path + (query == null ? "" : "?" + query));
        for (String name : List.of("X-Api-Key", "X-Custom", "Authorization", "Host", "X-Forwarded-For",
                "X-Forwarded-Prefix", "X-Forwarded-Proto", "X-Hop", "Te", "Content-Length", "Transfer-Encoding")) {
            h.add("X-Seen-" + name, in.containsKey(name) ? String.join(",", in.get(name)) : "none");
        }
        MessageDigest sha = sha256();
        long n;
        try (InputStream body = new DigestInputStream(ex.getRequestBody(), sha)) {
            n = body.transferTo(OutputStream.nullOutputStream());
        }
        byte[] answer = (HexFormat.of().formatHex(sha.digest()) + " " + n).getBytes(StandardCharsets.UTF_8);
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(200, -1);
            return;
        }
        ex.sendResponseHeaders(200, answer.length);
        ex.getResponseBody().write(answer);
    }

    private static void await(String key) {
        try {
            if (!GATES.computeIfAbsent(key, k -> new CountDownLatch(1)).await(20, TimeUnit.SECONDS)) {
                GAVE_UP.set(true);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    private static URI uri(String id, Object port, String rest) {
        return URI.create("http://127.0.0.1:" + server.port() + "/v1/sandboxes/" + id + "/ports/" + port + rest);
    }

    private static HttpResponse<byte[]> send(HttpRequest.Builder b) {
        try {
            return HTTP.send(b.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A refusal of the proxy itself: checked against the ports operation in openapi-extensions.yaml. */
    private static Response refusal(String method, HttpResponse<byte[]> r) {
        String type = r.headers().firstValue("content-type").orElse(null);
        CONTRACT.validate(method, PORTS, r.statusCode(), type, r.body());
        return new Response(r.statusCode(), type, r.body());
    }

    private static String header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name).orElse(null);
    }

    @Test
    void anH2cUpgradeOfferIsIgnoredAndAnyOtherRefused() {
        assertTrue(PortsService.onlyH2c("h2c"));
        assertTrue(PortsService.onlyH2c(" H2C "));
        assertFalse(PortsService.onlyH2c("websocket"));
        assertFalse(PortsService.onlyH2c("h2c, websocket"));
    }

    @Test
    void getPassesPathQueryAndHeadersButNotTheApiKeyOrHopByHopOnes() {
        String id = create();
        HttpResponse<byte[]> r = send(HttpRequest.newBuilder(uri(id, port, "/some/where%20else/?x=1&y=%2F&z"))
                .header("X-Custom", "mine").header("Authorization", "Bearer app-token")
                .header("X-API-Key", "the-servers-key").header("TE", "trailers").GET());
        assertEquals(200, r.statusCode(), new String(r.body()));
        assertEquals("GET", header(r, "X-Seen-Method"));
        assertEquals("/some/where%20else/?x=1&y=%2F&z", header(r, "X-Seen-Uri"), "path and query as sent");
        assertEquals("mine", header(r, "X-Seen-X-Custom"));
        assertEquals("Bearer app-token", header(r, "X-Seen-Authorization"), "the app's own auth passes");
        assertEquals("none", header(r, "X-Seen-X-Api-Key"), "the server's key never reaches the sandbox");
        assertEquals("none", header(r, "X-Seen-Te"), "hop-by-hop");
        assertEquals("127.0.0.1:" + port, header(r, "X-Seen-Host"), "Host is the sandbox's, not ours");
        assertEquals("127.0.0.1", header(r, "X-Seen-X-Forwarded-For"));
        assertEquals("http", header(r, "X-Seen-X-Forwarded-Proto"));
        assertEquals("/v1/sandboxes/" + id + "/ports/" + port, header(r, "X-Seen-X-Forwarded-Prefix"));
        assertEquals(sha256(new byte[0]) + " 0", new String(r.body(), StandardCharsets.UTF_8));
    }

    @Test
    void anEmptyPathIsTheRoot() {
        String id = create();
        assertEquals("/", header(send(HttpRequest.newBuilder(uri(id, port, "")).GET()), "X-Seen-Uri"));
        assertEquals("/?q=1", header(send(HttpRequest.newBuilder(uri(id, port, "/?q=1")).GET()), "X-Seen-Uri"));
        assertEquals("/?q=1", header(send(HttpRequest.newBuilder(uri(id, port, "?q=1")).GET()), "X-Seen-Uri"));
    }

    @Test
    void statusHeadersAndBodyComeBackAsSent() {
        String id = create();
        HttpResponse<byte[]> r = send(HttpRequest.newBuilder(uri(id, port, "/created"))
                .POST(HttpRequest.BodyPublishers.ofString("x")));
        assertEquals(201, r.statusCode());
        assertEquals("yes", header(r, "X-Custom"));
        assertEquals(List.of("a=1", "b=2"), r.headers().allValues("Set-Cookie"));
        assertEquals("/elsewhere", header(r, "Location"));
        assertEquals("4", header(r, "Content-Length"), "a known length passes");
        assertEquals("made", new String(r.body(), StandardCharsets.UTF_8));
        assertEquals(1, r.headers().allValues("Date").size(), r.headers().map().toString());
        HttpResponse<byte[]> redirect = send(HttpRequest.newBuilder(uri(id, port, "/redirect")).GET());
        assertEquals(302, redirect.statusCode(), "redirects are the caller's to follow");
        assertEquals("/created", header(redirect, "Location"));
        HttpResponse<byte[]> none = send(HttpRequest.newBuilder(uri(id, port, "/nothing"))
                .method("DELETE", HttpRequest.BodyPublishers.noBody()));
        assertEquals(204, none.statusCode());
        assertEquals(0, none.body().length);
        HttpResponse<byte[]> head = send(HttpRequest.newBuilder(uri(id, port, "/echo"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()));
        assertEquals(200, head.statusCode());
        assertEquals("HEAD", header(head, "X-Seen-Method"));
        assertEquals(0, head.body().length);
    }

    @ParameterizedTest
    @ValueSource(strings = {"POST", "PUT", "PATCH"})
    void aLargeBodyGoesUpStreamedWhateverTheMethod(String method) {
        String id = create();
        byte[] body = new byte[8 * 1024 * 1024 + 17];
        new Random(7).nextBytes(body);
        // chunked (no length known) and with a Content-Length
        HttpResponse<byte[]> chunked = send(HttpRequest.newBuilder(uri(id, port, "/echo")).method(method,
                HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(body))));
        assertEquals(200, chunked.statusCode(), new String(chunked.body()));
        assertEquals(sha256(body) + " " + body.length, new String(chunked.body(), StandardCharsets.UTF_8));
        assertEquals(method, header(chunked, "X-Seen-Method"));
        HttpResponse<byte[]> sized = send(HttpRequest.newBuilder(uri(id, port, "/echo")).method(method,
                HttpRequest.BodyPublishers.ofByteArray(body)));
        assertEquals(sha256(body) + " " + body.length, new String(sized.body(), StandardCharsets.UTF_8));
        assertEquals(String.valueOf(body.length), header(sized, "X-Seen-Content-Length"), "the length passes");
    }

    @Test
    void theRequestBodyReachesTheSandboxBeforeItIsWhole() throws IOException, InterruptedException {
        String id = create();
        String key = "upload-" + System.nanoTime();
        CountDownLatch firstArrived = new CountDownLatch(1);
        GATES.put(key, firstArrived);
        // by hand, chunked: the first 64 KiB, then the rest only once the sandbox's server has read them; a proxy
        // that held the body back until it was whole would never let them arrive
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/sandboxes/" + id + "/ports/" + port + "/gated-upload?key=" + key + " HTTP/1.1\r\n"
                    + "Host: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            chunk(out, new byte[64 * 1024]);
            assertTrue(firstArrived.await(20, TimeUnit.SECONDS),
                    "the first bytes did not reach the sandbox before the whole body was sent");
            chunk(out, new byte[1024 * 1024]);
            out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            String status = in.readLine();
            assertTrue(status.startsWith("HTTP/1.1 200"), status);
            int length = -1;
            for (String line = in.readLine(); !line.isEmpty(); line = in.readLine()) {
                if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                    length = Integer.parseInt(line.substring(15).trim());
                }
            }
            char[] body = new char[length];
            assertEquals(length, in.read(body, 0, length));
            assertEquals(String.valueOf(64 * 1024 + 1024 * 1024), new String(body), "the whole body came");
        }
    }

    private static void chunk(OutputStream out, byte[] data) throws IOException {
        out.write((Integer.toHexString(data.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(data);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    @Test
    void theAnswerComesPieceByPieceAsTheSandboxSendsIt() throws IOException, InterruptedException {
        String id = create();
        String key = "slow-" + System.nanoTime();
        HttpResponse<InputStream> r = HTTP.send(HttpRequest.newBuilder(uri(id, port, "/slow?key=" + key)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            assertEquals(200, r.statusCode());
            assertEquals("first", lines.readLine());
            assertFalse(GAVE_UP.get(), "the first line came only after the sandbox had given up waiting");
            GATES.computeIfAbsent(key, k -> new CountDownLatch(1)).countDown();
            assertEquals("second", lines.readLine());
            assertEquals(null, lines.readLine());
        }
    }

    @Test
    void aLargeAnswerComesWholeWithItsLength() throws IOException, InterruptedException {
        String id = create();
        int n = 16 * 1024 * 1024 + 3;
        HttpResponse<InputStream> r = HTTP.send(HttpRequest.newBuilder(uri(id, port, "/big?n=" + n)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(String.valueOf(n), header(r, "Content-Length"));
        MessageDigest got = sha256();
        long count;
        try (InputStream in = new DigestInputStream(r.body(), got)) {
            count = in.transferTo(OutputStream.nullOutputStream());
        }
        MessageDigest want = sha256();
        Random random = new Random(n);
        byte[] buf = new byte[64 * 1024];
        for (int left = n; left > 0; left -= buf.length) {
            random.nextBytes(buf);
            want.update(buf, 0, Math.min(left, buf.length));
        }
        assertEquals(n, count);
        assertArrayEquals(want.digest(), got.digest());
    }

    @Test
    void anAnswerTheSandboxBreaksOffDoesNotEndAsIfWhole() {
        String id = create();
        assertThrows(IOException.class, () -> HTTP.send(HttpRequest.newBuilder(uri(id, port, "/cut")).build(),
                HttpResponse.BodyHandlers.ofByteArray()), "10 of 1000 bytes must not read as a whole answer");
    }

    @Test
    void nothingListeningIs502() throws IOException {
        String id = create();
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        Response r = refusal("GET", send(HttpRequest.newBuilder(uri(id, closed, "/x")).GET()));
        assertError(502, "upstream_error", r);
        assertTrue(r.text().contains("nothing listens on port " + closed + " of sandbox " + id), r.text());
    }

    @Test
    void unknownSandboxIs404() {
        assertError(404, "not_found", refusal("POST", send(HttpRequest.newBuilder(uri("sb-ffffffff", port, "/x"))
                .POST(HttpRequest.BodyPublishers.ofString("body")))));
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "65536", "-1", "http", "99999999999"})
    void aPortOutside1To65535Is400(String bad) {
        String id = create();
        Response r = refusal("GET", send(HttpRequest.newBuilder(uri(id, bad, "/")).GET()));
        assertError(400, "bad_request", r);
        assertTrue(r.text().contains("port must be"), r.text());
    }

    @Test
    void aPausedSandboxIs409AndAResumedOneAnswersAgain() {
        String id = create();
        assertEquals(200, api.post(SandboxApiTest.PAUSE, id, null).status());
        Response r = refusal("POST", send(HttpRequest.newBuilder(uri(id, port, "/"))
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[256 * 1024]))));
        assertError(409, "invalid_state", r);
        assertTrue(r.text().contains("paused"), r.text());
        assertEquals(200, api.post(SandboxApiTest.RESUME, id, null).status());
        assertEquals(200, send(HttpRequest.newBuilder(uri(id, port, "/")).GET()).statusCode());
        assertEquals(204, api.delete(SandboxApiTest.SANDBOX, id).status());
        assertError(409, "invalid_state", refusal("GET", send(HttpRequest.newBuilder(uri(id, port, "/")).GET())));
    }

    @Test
    void aSandboxWithoutNetworkIs409() {
        Response created = api.create("{\"network\":null}");
        String id = created.json().get("id").asText();
        Response r = refusal("GET", send(HttpRequest.newBuilder(uri(id, port, "/")).GET()));
        assertError(409, "invalid_state", r);
        assertTrue(r.text().contains("has no network"), r.text());
    }

    @Test
    void aWebSocketUpgradeIs501() throws IOException {
        String id = create();
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET /v1/sandboxes/" + id + "/ports/" + port + "/ws HTTP/1.1\r\nHost: x\r\n"
                    + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            String status = in.readLine();
            assertTrue(status.startsWith("HTTP/1.1 501"), status);
            String line;
            while (!(line = in.readLine()).isEmpty()) {
                assertFalse(line.toLowerCase(java.util.Locale.ROOT).startsWith("upgrade:"), line);
            }
            char[] body = new char[512];
            String text = new String(body, 0, in.read(body));
            assertTrue(text.contains("not_implemented") && text.contains("websocket"), text);
        }
    }

    @Test
    void aPauseCutsAStreamInFlightAtOnce() throws IOException, InterruptedException {
        String id = create();
        String key = "cut-" + System.nanoTime();
        HttpResponse<InputStream> r = HTTP.send(HttpRequest.newBuilder(uri(id, port, "/slow?key=" + key)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            assertEquals("first", lines.readLine());
            long start = System.nanoTime();
            assertEquals(200, api.post(SandboxApiTest.PAUSE, id, null).status());
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertTrue(ms < 5000, "the pause waited " + ms + " ms for the stream (drain grace 10 s)");
            IOException cut = assertThrows(IOException.class, lines::readLine, "the stream must end as cut");
            assertTrue(cut.getMessage() != null, cut.toString());
        } finally {
            GATES.computeIfAbsent(key, k -> new CountDownLatch(1)).countDown();
        }
    }

    @Test
    void aPauseBeforeTheAnswerIs409AtOnce() throws Exception {
        String id = create();
        String key = "hold-" + System.nanoTime();
        var call = HTTP.sendAsync(HttpRequest.newBuilder(uri(id, port, "/hold?key=" + key)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        try {
            assertTrue(GATES.computeIfAbsent(key + "-entered", k -> new CountDownLatch(1)).await(10, TimeUnit.SECONDS));
            long start = System.nanoTime();
            assertEquals(200, api.post(SandboxApiTest.PAUSE, id, null).status());
            Response r = refusal("GET", call.get(10, TimeUnit.SECONDS));
            assertError(409, "invalid_state", r);
            assertTrue(r.text().contains("pausing"), r.text());
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertTrue(ms < 5000, "the pause waited " + ms + " ms for the request (drain grace 10 s)");
        } finally {
            GATES.computeIfAbsent(key, k -> new CountDownLatch(1)).countDown();
        }
    }

    @Test
    void theReaperLeavesASandboxWithARequestInFlightAlone(@TempDir Path dir) throws Exception {
        try (SandboxServer s = TestServers.start(TestServers.fastReaper(dir.resolve("state"), Duration.ofMinutes(1)),
                new FakeEngine(dir.resolve("vms")))) {
            ApiClient client = new ApiClient(s.port(), CONTRACT);
            String id = client.create("{\"timeout_sec\":1}").json().get("id").asText();
            String key = "reaper-" + System.nanoTime();
            URI target = URI.create("http://127.0.0.1:" + s.port() + "/v1/sandboxes/" + id + "/ports/" + port
                    + "/hold?key=" + key);
            var call = HTTP.sendAsync(HttpRequest.newBuilder(target).build(), HttpResponse.BodyHandlers.ofByteArray());
            Thread.sleep(2500);  // the idle timeout twice over, the reaper looking every 200 ms
            assertEquals("running", client.get(SandboxApiTest.SANDBOX, id).json().get("status").asText());
            GATES.computeIfAbsent(key, k -> new CountDownLatch(1)).countDown();
            assertEquals(200, call.get(10, TimeUnit.SECONDS).statusCode());
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!client.get(SandboxApiTest.SANDBOX, id).json().get("status").asText().equals("stopped")
                    && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertEquals("stopped", client.get(SandboxApiTest.SANDBOX, id).json().get("status").asText(),
                    "once the request is done, idleness counts again");
        }
    }

    @Test
    void proxiedCallsAreCountedUnderOneRoute() {
        String id = create();
        send(HttpRequest.newBuilder(uri(id, port, "/a/b/c")).GET());
        String metrics = api.raw("GET", "/metrics", null, HttpRequest.BodyPublishers.noBody()).text();
        assertTrue(metrics.contains("route=\"/v1/sandboxes/{id}/ports/{port}/{path}\""), metrics);
        assertFalse(metrics.contains("/a/b/c"), "no paths as labels");
    }

    @Test
    void aRequestInFlightIsActivity() throws Exception {
        String id = create();
        String before = api.get(SandboxApiTest.SANDBOX, id).json().get("last_active_at").asText();
        Thread.sleep(5);
        assertEquals(200, send(HttpRequest.newBuilder(uri(id, port, "/")).GET()).statusCode());
        String after = api.get(SandboxApiTest.SANDBOX, id).json().get("last_active_at").asText();
        assertTrue(java.time.Instant.parse(after).isAfter(java.time.Instant.parse(before)), before + " " + after);
    }

    @Test
    void theProxyNeedsTheApiKeyLikeEveryCall(@TempDir Path dir) {
        ServerConfig.Access access = new ServerConfig.Access(null, "k1", false);
        try (SandboxServer s = TestServers.start(TestServers.config(dir.resolve("state"))
                .withAccess("127.0.0.1", access), new FakeEngine(dir.resolve("vms")))) {
            String id = new ApiClient(s.port(), CONTRACT, "k1").create("{}").json().get("id").asText();
            URI target = URI.create("http://127.0.0.1:" + s.port() + "/v1/sandboxes/" + id + "/ports/" + port + "/");
            Response none = refusal("GET", send(HttpRequest.newBuilder(target).GET()));
            assertError(401, "unauthorized", none);
            HttpResponse<byte[]> with = send(HttpRequest.newBuilder(target).header("X-API-Key", "k1").GET());
            assertEquals(200, with.statusCode());
            assertEquals("none", header(with, "X-Seen-X-Api-Key"));
        }
    }

    @Test
    void restOfThePathIsCutAfterThePort() {
        assertEquals("/", PortsService.rest("/v1/sandboxes/sb-1/ports/80"));
        assertEquals("/", PortsService.rest("/v1/sandboxes/sb-1/ports/80/"));
        assertEquals("/a/b%2Fc/", PortsService.rest("/v1/sandboxes/sb-1/ports/80/a/b%2Fc/"));
        assertEquals("//x", PortsService.rest("/v1/sandboxes/sb-1/ports/80//x"));
    }
}
