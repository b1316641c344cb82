package dev.sandbox.load;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The load tool against a loopback stand-in of the API (a test double: the tool's logic is under test here,
 * not the server).
 */
class LoadToolTest {

    private HttpServer server;
    private final Map<String, byte[]> files = new ConcurrentHashMap<>();
    private final AtomicInteger ids = new AtomicInteger();
    private volatile int execStatus = 200;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/v1/sandboxes", this::handle);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        byte[] body = ex.getRequestBody().readAllBytes();
        if (path.equals("/v1/sandboxes") && ex.getRequestMethod().equals("POST")) {
            reply(ex, 201, "{\"id\":\"sb-" + ids.incrementAndGet() + "\",\"status\":\"running\"}");
        } else if (path.endsWith("/exec")) {
            reply(ex, execStatus, "{\"exit_code\":0,\"stdout\":\"\",\"stderr\":\"\"}");
        } else if (path.endsWith("/files/write")) {
            // The multipart part after the file header: good enough for the tool's fixed layout.
            String text = new String(body, StandardCharsets.ISO_8859_1);
            Matcher m = Pattern.compile("name=\"path\"\r\n\r\n([^\r]*)\r\n").matcher(text);
            assertTrue(m.find(), text);
            int start = text.indexOf("\r\n\r\n", text.indexOf("name=\"file\"")) + 4;
            int end = text.lastIndexOf("\r\n--");
            // Keyed by sandbox and path: each sandbox has its own filesystem.
            files.put(path + m.group(1), java.util.Arrays.copyOfRange(body, start, end));
            reply(ex, 204, null);
        } else if (path.endsWith("/files/read")) {
            Matcher m = Pattern.compile("\"path\":\"([^\"]*)\"").matcher(new String(body, StandardCharsets.UTF_8));
            assertTrue(m.find());
            byte[] file = files.get(path.replace("/files/read", "/files/write") + m.group(1));
            ex.sendResponseHeaders(200, file.length);
            ex.getResponseBody().write(file);
            ex.close();
        } else if (path.endsWith("/pause") || path.endsWith("/resume")) {
            reply(ex, 200, "{\"status\":\"running\"}");
        } else if (ex.getRequestMethod().equals("DELETE")) {
            reply(ex, 204, null);
        } else {
            reply(ex, 404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no\"}}");
        }
    }

    private static void reply(HttpExchange ex, int status, String json) throws IOException {
        byte[] b = json == null ? new byte[0] : json.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, json == null ? -1 : b.length);
        if (json != null) {
            ex.getResponseBody().write(b);
        }
        ex.close();
    }

    private String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** What one load run returned and printed. */
    private record Run(boolean ok, String text) {
    }

    /** Runs the load tool against the stand-in with these options (plus --url), capturing what it prints. */
    private Run load(String... options) throws Exception {
        String[] args = new String[options.length + 2];
        args[0] = "--url";
        args[1] = url();
        System.arraycopy(options, 0, args, 2, options.length);
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            boolean ok = LoadMain.run(LoadConfig.parse(args));
            return new Run(ok, captured.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(old);
        }
    }

    @Test
    void runsTheScenarioAndWritesLogsAndPlot(@TempDir Path out) throws Exception {
        Run run = load("--clients", "3", "--iterations", "2", "--execs", "4", "--file-kb", "8",
                "--out", out.toString());
        String table = run.text();
        assertTrue(run.ok(), table);
        // 3 clients x 2 iterations: 6 creates, 24 execs, 6 of everything else.
        assertTrue(Pattern.compile("(?m)^create\\s+6\\s+0\\s").matcher(table).find(), table);
        assertTrue(Pattern.compile("(?m)^exec\\s+24\\s+0\\s").matcher(table).find(), table);
        for (Operation op : Operation.values()) {
            assertTrue(Files.size(out.resolve(op.label() + ".hlog")) > 0, op.label());
        }
        BufferedImage png = ImageIO.read(out.resolve("latency.png").toFile());
        assertEquals(1000, png.getWidth());
        assertEquals(600, png.getHeight());
    }

    @Test
    void countsFailuresAndReportsThem(@TempDir Path out) throws Exception {
        execStatus = 409;
        Run run = load("--clients", "1", "--iterations", "1", "--execs", "2", "--no-pause", "--out", out.toString());
        String text = run.text();
        assertFalse(run.ok());
        assertTrue(Pattern.compile("(?m)^exec\\s+0\\s+2\\s").matcher(text).find(), text);
        assertTrue(text.contains("error: exec: POST /v1/sandboxes/sb-1/exec answered 409"), text);
        assertFalse(Pattern.compile("(?m)^pause\\s").matcher(text).find(), "pause was turned off: " + text);
    }

    @Test
    void warmupRunsAreServedButNotCounted(@TempDir Path out) throws Exception {
        Run run = load("--clients", "2", "--iterations", "1", "--execs", "1", "--warmup", "2", "--out", out.toString());
        String text = run.text();
        assertTrue(run.ok(), text);
        assertEquals(4, ids.get(), "2 warm-up creates and 2 timed ones reach the server");
        assertTrue(Pattern.compile("(?m)^create\\s+2\\s+0\\s").matcher(text).find(), text);
    }

    @Test
    void rejectsBadOptions() {
        assertThrows(IllegalArgumentException.class, () -> LoadConfig.parse("--clients", "0"));
        assertThrows(IllegalArgumentException.class, () -> LoadConfig.parse("--clients"));
        assertThrows(IllegalArgumentException.class, () -> LoadConfig.parse("--bogus", "1"));
        assertThrows(IllegalArgumentException.class, () -> LoadConfig.parse("--warmup", "-1"));
        assertEquals(0, LoadConfig.parse("--warmup", "0").warmup());
        assertEquals(8 * 1024, LoadConfig.parse("--file-kb", "8").fileBytes());
    }
}
