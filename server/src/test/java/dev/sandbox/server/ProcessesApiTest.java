package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.sandbox.server.ApiClient.assertError;
import static dev.sandbox.server.ApiClient.PROCESS;
import static dev.sandbox.server.ApiClient.PROCESSES;
import static dev.sandbox.server.ApiClient.PROCESS_SIGNAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Background process endpoints over real HTTP with {@link FakeEngine} (host processes); every answer is checked
 * against openapi-extensions.yaml (Process, ProcessList, ProcessStreamEvent per line, declared statuses, error
 * codes) by {@link ApiClient}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProcessesApiTest extends FakeServerTest {

    private static JsonNode started(String id, String json) {
        Response r = api.startProcess(id, json);
        assertEquals(201, r.status(), r.text());
        return r.json();
    }

    /** Every line of a stream up to its end: stdout and stderr decoded, the exit code, the dropped counts. */
    record Streamed(String stdout, String stderr, Integer exitCode, long droppedStdout, List<String> types) {}

    private static Streamed readStream(String id, String pid) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        Integer exit = null;
        long dropped = 0;
        List<String> types = new ArrayList<>();
        try (ApiClient.StreamedLines lines = api.streamProcess(id, pid)) {
            for (JsonNode l; (l = lines.next()) != null; ) {
                String type = l.get("type").asText();
                types.add(type);
                assertNull(exit, "nothing after the exit line");
                switch (type) {
                    case "stdout" -> out.writeBytes(Base64.getDecoder().decode(l.get("data").asText()));
                    case "stderr" -> err.writeBytes(Base64.getDecoder().decode(l.get("data").asText()));
                    case "exit" -> exit = l.get("exit_code").asInt();
                    case "dropped" -> dropped += "stdout".equals(l.get("stream").asText()) ? l.get("bytes").asLong() : 0;
                    default -> { }
                }
            }
        }
        return new Streamed(out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8), exit,
                dropped, types);
    }

    @Test
    void startListGetStreamAndExit() throws Exception {
        String id = create();
        Instant before = Instant.now().minusSeconds(5);
        JsonNode p = started(id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"echo out; echo err >&2; sleep 0.3; exit 3\"]}");
        String pid = p.get("pid").asText();
        assertEquals("sh", p.get("cmd").asText());
        assertEquals("running", p.get("status").asText());
        assertFalse(p.has("exit_code"), "no exit code while running");
        assertTrue(Instant.parse(p.get("started_at").asText()).isAfter(before));

        Response list = api.process("GET", PROCESSES, id, "", null);
        assertEquals(200, list.status(), list.text());
        assertTrue(list.json().get("processes").findValuesAsText("pid").contains(pid), list.text());

        Streamed s = readStream(id, pid);
        assertEquals("out\n", s.stdout());
        assertEquals("err\n", s.stderr());
        assertEquals(3, s.exitCode());
        assertEquals("exit", s.types().getLast());

        Response one = api.process("GET", PROCESS, id, pid, null);
        assertEquals(200, one.status(), one.text());
        assertEquals("exited", one.json().get("status").asText());
        assertEquals(3, one.json().get("exit_code").asInt());
        // a second stream of an exited process replays what is kept, then the exit
        assertEquals("out\n", readStream(id, pid).stdout());
        // signalling an exited process is a conflict
        assertError(409, "conflict", api.process("POST", PROCESS_SIGNAL, id, pid, "{\"signal\":\"TERM\"}"));
    }

    @Test
    void signalEndsItAndTheStreamSaysHow() throws Exception {
        String id = create();
        String pid = started(id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"echo ready; exec sleep 60\"]}")
                .get("pid").asText();
        try (ApiClient.StreamedLines lines = api.streamProcess(id, pid)) {
            JsonNode first = lines.next();
            assertEquals("stdout", first.get("type").asText());
            assertEquals("ready\n", new String(Base64.getDecoder().decode(first.get("data").asText())));
            Response sig = api.process("POST", PROCESS_SIGNAL, id, pid, "{\"signal\":\"TERM\"}");
            assertEquals(204, sig.status(), sig.text());
            JsonNode last = lines.next();
            while (last != null && !"exit".equals(last.get("type").asText())) {
                last = lines.next();
            }
            assertEquals(143, last.get("exit_code").asInt());
            assertNull(lines.next(), "the response ends after the exit");
        }
        assertEquals(143, api.process("GET", PROCESS, id, pid, null).json().get("exit_code").asInt());
    }

    /** exec's env and cwd extensions apply to a background process too; a cwd that is no directory is a 400. */
    @Test
    void envAndCwdReachTheProcess() throws Exception {
        String id = create();
        String pid = started(id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"echo $GREETING; pwd\"],"
                + "\"env\":{\"GREETING\":\"hello there\"},\"cwd\":\"/\"}").get("pid").asText();
        Streamed s = readStream(id, pid);
        assertEquals(0, s.exitCode());
        assertTrue(s.stdout().startsWith("hello there\n"), s.stdout());
        assertError(400, "bad_request", api.startProcess(id, "{\"cmd\":\"true\",\"cwd\":\"/no/such/dir\"}"));
        assertError(400, "bad_request", api.startProcess(id, "{\"cmd\":\"true\",\"cwd\":\"relative\"}"));
        assertError(400, "bad_request", api.startProcess(id, "{\"cmd\":\"true\",\"env\":{\"A\":1}}"));
        assertError(400, "bad_request", api.startProcess(id, "{\"cmd\":\"true\",\"env\":{\"1A\":\"x\"}}"));
        assertError(400, "bad_request", api.startProcess(id, "{\"cmd\":\"cat\",\"stdin\":\"x\"}"));
    }

    /** The process and its output live through pause/resume; the stream waits through the pause. */
    @Test
    void survivesPauseResume() throws Exception {
        String id = create();
        String pid = started(id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"echo a; sleep 1.5; echo b\"]}")
                .get("pid").asText();
        try (ApiClient.StreamedLines lines = api.streamProcess(id, pid)) {
            assertEquals("a\n", new String(Base64.getDecoder().decode(lines.next().get("data").asText())));
            assertEquals(200, api.post(SandboxApiTest.PAUSE, id, null).status());
            assertError(409, "invalid_state", api.process("GET", PROCESSES, id, "", null));
            assertEquals(200, api.post(SandboxApiTest.RESUME, id, null).status());
            StringBuilder rest = new StringBuilder();
            Integer exit = null;
            for (JsonNode l; (l = lines.next()) != null; ) {
                switch (l.get("type").asText()) {
                    case "stdout" -> rest.append(new String(Base64.getDecoder().decode(l.get("data").asText())));
                    case "exit" -> exit = l.get("exit_code").asInt();
                    default -> { }
                }
            }
            assertEquals("b\n", rest.toString(), "goes on where it stopped, nothing twice");
            assertEquals(0, exit);
        }
    }

    /** A client that goes away mid-stream: the server stops reading for it (nothing left polling the guest). */
    @Test
    void clientLeavingMidStreamReleasesTheStream() throws Exception {
        String id = create();
        String pid = started(id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"while :; do echo x; sleep 0.05; done\"]}")
                .get("pid").asText();
        java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
        engine.hook((sb, call) -> {
            if (sb.equals(id) && call.equals("process-read")) {
                reads.incrementAndGet();
            }
        });
        try {
            try (ApiClient.StreamedLines lines = api.streamProcess(id, pid)) {
                assertEquals("stdout", lines.next().get("type").asText());
            }
            // The server sees the client gone at a write that fails; then its reads stop. How soon depends on the
            // machine's load, so: wait (at most 60 s) for the count to hold still for 2 s, then for 2 s more.
            int after = reads.get();
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                Thread.sleep(2000);
                int now = reads.get();
                if (now == after) {
                    break;
                }
                after = now;
            }
            Thread.sleep(2000);
            assertEquals(after, reads.get(), "no reads after the client left");
            assertTrue(after > 0);
        } finally {
            engine.hook((sb, call) -> { });
        }
        assertEquals(204, api.process("POST", PROCESS_SIGNAL, id, pid, "{\"signal\":\"KILL\"}").status());
    }

    @Test
    void boundedOutputSaysWhatWasDropped() throws Exception {
        engine.processBuffer = 1000;
        try {
            String id = create();
            String pid = started(id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"i=0; while [ $i -lt 50 ]; do printf '%099d\\\\n' $i; i=$((i+1)); done\"]}")
                    .get("pid").asText();
            // wait for the exit first, so that all 5000 bytes were written before the stream starts
            for (int i = 0; i < 100 && "running".equals(api.process("GET", PROCESS, id, pid, null).json()
                    .get("status").asText()); i++) {
                Thread.sleep(50);
            }
            Streamed s = readStream(id, pid);
            assertEquals(4000, s.droppedStdout());
            assertEquals("dropped", s.types().getFirst());
            assertEquals(1000, s.stdout().length());
            assertTrue(s.stdout().endsWith("49\n"), s.stdout());
            assertEquals(0, s.exitCode());
        } finally {
            engine.processBuffer = 1024 * 1024;
        }
    }

    @Test
    void badInputAndUnknownOnes() {
        String id = create();
        assertError(400, "bad_request", api.startProcess(id, "{}"));
        assertError(400, "bad_request", api.startProcess(id, "{\"cmd\":\"\"}"));
        assertError(400, "bad_request", api.startProcess(id, "{\"cmd\":\"ls\",\"args\":[1]}"));
        assertError(400, "bad_request", api.startProcess(id, "{\"cmd\":\"ls\",\"timeout_sec\":5}"));
        assertError(400, "bad_request", api.startProcess(id, "{\"cmd\":\"ls\",\"args\":[\"a\\u0000b\"]}"));
        assertError(400, "bad_request", api.startProcess(id, "{\"cmd\":\"echo\",\"args\":[\"" + "x".repeat(8200)
                + "\"]}"));
        assertError(404, "not_found", api.startProcess("sb-00000000", "{\"cmd\":\"ls\"}"));
        for (String bad : List.of("abc", "-1", "0", "1.5", "99999999999")) {
            assertError(400, "bad_request", api.process("GET", PROCESS, id, bad, null));
            assertError(400, "bad_request", api.process("POST", PROCESS_SIGNAL, id, bad, "{\"signal\":\"TERM\"}"));
        }
        assertError(404, "not_found", api.process("GET", PROCESS, id, "999999", null));
        assertError(404, "not_found", api.process("POST", PROCESS_SIGNAL, id, "999999", "{\"signal\":\"TERM\"}"));
        assertError(404, "not_found", api.process("GET", ApiClient.PROCESS_STREAM, id, "999999", null));
        String pid = started(id, "{\"cmd\":\"sleep\",\"args\":[\"30\"]}").get("pid").asText();
        for (String bad : List.of("{\"signal\":\"SIGTERM\"}", "{\"signal\":\"term\"}", "{\"signal\":\"USR1\"}",
                "{\"signal\":15}", "{}")) {
            assertError(400, "bad_request", api.process("POST", PROCESS_SIGNAL, id, pid, bad));
        }
        assertEquals(204, api.process("POST", PROCESS_SIGNAL, id, pid, "{\"signal\":\"KILL\"}").status());
        // a missing command starts and exits 127, as exec
        String missing = started(id, "{\"cmd\":\"no-such-command-xyz\"}").get("pid").asText();
        for (int i = 0; i < 100 && "running".equals(api.process("GET", PROCESS, id, missing, null).json()
                .get("status").asText()); i++) {
            sleep(50);
        }
        assertEquals(127, api.process("GET", PROCESS, id, missing, null).json().get("exit_code").asInt());
        assertEquals(405, api.raw("DELETE", PROCESSES.replace("{id}", id), null,
                java.net.http.HttpRequest.BodyPublishers.noBody()).status());
    }

    @Test
    void atMostSoManyRunning() {
        engine.maxProcesses = 3;
        try {
            String id = create();
            List<String> pids = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                pids.add(started(id, "{\"cmd\":\"sleep\",\"args\":[\"30\"]}").get("pid").asText());
            }
            assertError(429, "too_many_requests", api.startProcess(id, "{\"cmd\":\"sleep\",\"args\":[\"30\"]}"));
            assertEquals(204, api.process("POST", PROCESS_SIGNAL, id, pids.getFirst(), "{\"signal\":\"KILL\"}")
                    .status());
            for (int i = 0; i < 100 && "running".equals(api.process("GET", PROCESS, id, pids.getFirst(), null)
                    .json().get("status").asText()); i++) {
                sleep(50);
            }
            started(id, "{\"cmd\":\"true\"}"); // room again
        } finally {
            engine.maxProcesses = 64;
        }
    }

    @Test
    void oldAgentAndStoppedSandbox() {
        String id = create();
        engine.unsupportedProcesses = true;
        try {
            assertError(501, "not_implemented", api.startProcess(id, "{\"cmd\":\"ls\"}"));
            assertError(501, "not_implemented", api.process("GET", PROCESSES, id, "", null));
        } finally {
            engine.unsupportedProcesses = false;
        }
        assertEquals(200, api.post(SandboxApiTest.PAUSE, id, null).status());
        assertError(409, "invalid_state", api.startProcess(id, "{\"cmd\":\"ls\"}"));
        assertError(409, "invalid_state", api.process("GET", ApiClient.PROCESS_STREAM, id, "5", null));
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
