package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Section 5 of issue 13: a client that writes its whole request before reading the answer (Python's http.client,
 * urllib, requests) reads the 413, or the 409, with its error body instead of a broken pipe. A raw socket does
 * exactly that here: the body, one byte past the limit and more, goes out first; then the answer is read.
 */
class RefusedBodyTest {

    static final long LIMIT = 100L * 1024 * 1024;
    static SandboxServer server;
    static ApiClient api;

    @BeforeAll
    static void start(@TempDir Path dir) {
        // the limit as shipped (100 MiB), and 101 MiB sent: the case found with Python
        server = TestServers.start(TestServers.config(dir.resolve("state")).withLimits(LIMIT, 64 * 1024),
                new FakeEngine(dir.resolve("vms")));
        api = new ApiClient(server.port(), SandboxApiTest.CONTRACT);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** The whole request written first, then the whole answer read: status line and body. */
    private static String[] writeAllThenRead(String id, byte[] file, boolean chunked) throws IOException {
        ApiClient.Multipart form = new ApiClient.Multipart().field("path", "/big.bin").file("file", "b.bin", file);
        byte[] body = form.bytes();
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(60_000);
            OutputStream out = s.getOutputStream();
            String head = "POST /v1/sandboxes/" + id + "/files/write HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: " + form.contentType() + "\r\n"
                    + (chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + body.length + "\r\n")
                    + "\r\n";
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            if (chunked) {
                for (int off = 0; off < body.length; off += 65536) {
                    int n = Math.min(65536, body.length - off);
                    out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(body, off, n);
                    out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                }
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            } else {
                out.write(body);  // a broken pipe here is the bug
            }
            out.flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            int n;
            while (!complete(answer) && (n = in.read(buf)) > 0) {
                answer.write(buf, 0, n);
            }
            String text = answer.toString(StandardCharsets.UTF_8);
            int split = text.indexOf("\r\n\r\n");
            return new String[]{text.substring(0, text.indexOf("\r\n")), text.substring(split + 4)};
        }
    }

    /** Headers and a Content-Length's worth of body are in. */
    private static boolean complete(ByteArrayOutputStream answer) {
        String text = answer.toString(StandardCharsets.UTF_8);
        int split = text.indexOf("\r\n\r\n");
        if (split < 0) {
            return false;
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)")
                .matcher(text.substring(0, split));
        return m.find() && text.length() - split - 4 >= Integer.parseInt(m.group(1));
    }

    private static JsonNode error(String body) throws IOException {
        return ApiClient.JSON.readTree(body).get("error");
    }

    @Test
    void aDeclaredTooLargeBodyWrittenWholeStillReadsThe413() throws IOException {
        String id = SandboxApiTest.createRunning(api);
        String[] answer = writeAllThenRead(id, new byte[(int) LIMIT + 1024 * 1024], false);
        assertTrue(answer[0].contains(" 413 "), answer[0]);
        assertEquals("too_large", error(answer[1]).get("code").asText(), answer[1]);
    }

    @Test
    void aChunkedTooLargeBodyWrittenWholeStillReadsThe413() throws IOException {
        String id = SandboxApiTest.createRunning(api);
        String[] answer = writeAllThenRead(id, new byte[(int) LIMIT + 1024 * 1024], true);
        assertTrue(answer[0].contains(" 413 "), answer[0]);
        assertEquals("too_large", error(answer[1]).get("code").asText(), answer[1]);
    }

    /**
     * Draining is bounded: a body declared far past the limit gets its 413 at once and then the connection
     * closes, instead of the server reading on for as long as the client sends.
     */
    @Test
    void aBodyFarPastTheLimitIsAnsweredAndTheConnectionClosed() throws IOException {
        String id = SandboxApiTest.createRunning(api);
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(10_000);
            String head = "POST /v1/sandboxes/" + id + "/files/write HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: multipart/form-data; boundary=xyz\r\n"
                    + "Content-Length: " + (4 * LIMIT) + "\r\n\r\n";
            s.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
            try {
                s.getOutputStream().write(new byte[1024 * 1024]);
                s.getOutputStream().flush();
            } catch (SocketException closedFirst) {
                // the server answered and closed before this megabyte was all out: that is the behaviour tested
            }
            String text = readUntilClosed(s.getInputStream());
            assertTrue(text.startsWith("HTTP/1.1 413 "), text);
            assertTrue(text.toLowerCase(java.util.Locale.ROOT).contains("connection: close"), text);
            assertEquals("too_large", error(text.substring(text.indexOf("\r\n\r\n") + 4)).get("code").asText());
        }
    }

    /**
     * Everything the server sent, up to its close: an end of stream, or a reset when it closed with our bytes
     * unread (Linux still hands over what arrived before the reset). A timeout means it never closed: a failure.
     */
    private static String readUntilClosed(InputStream in) throws IOException {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        try {
            int n;
            while ((n = in.read(buf)) > 0) {
                got.write(buf, 0, n);
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the server never closed the connection; it sent: " + got, e);
        } catch (SocketException reset) {
            // closed with a reset: what came before it is the answer
        }
        return got.toString(StandardCharsets.UTF_8);
    }

    @Test
    void anUploadToAPausedSandboxWrittenWholeStillReadsThe409() throws IOException {
        String id = SandboxApiTest.createRunning(api);
        assertEquals(200, api.post(SandboxApiTest.PAUSE, id, null).status());
        String[] answer = writeAllThenRead(id, new byte[8 * 1024 * 1024], false);
        assertTrue(answer[0].contains(" 409 "), answer[0]);
        assertEquals("invalid_state", error(answer[1]).get("code").asText(), answer[1]);
    }
}
