package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.sandbox.server.ApiClient.PROCESS;
import static dev.sandbox.server.ApiClient.PROCESSES;
import static dev.sandbox.server.ApiClient.PROCESS_SIGNAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Background processes over the real KVM engine and the real guest agent (protocol 3), end to end through HTTP,
 * every answer (and every stream line) checked against openapi-extensions.yaml: a ticking shell loop started,
 * listed running, its stream's first lines read, the sandbox paused and resumed, the process still running with its
 * earlier output kept and new output coming, TERM, and the exit 143 in the stream and the listing; a foreground exec
 * meanwhile keeps its own exit status. One boot. Needs /dev/kvm and {@code -Dsandbox.guest.dir}.
 */
@Tag("kvm")
class KvmProcessesTest {

    private static final String LOOP = "i=0; while :; do echo tick $i; i=$((i+1)); sleep 1; done";
    private static final Pattern TICK = Pattern.compile("tick (\\d+)\n");

    /** Reads stdout lines of the stream until {@code text} holds a tick numbered at least {@code atLeast}. */
    private static int readUntilTick(ApiClient.StreamedLines lines, StringBuilder text, int atLeast) {
        for (JsonNode l; (l = lines.next()) != null; ) {
            if ("stdout".equals(l.get("type").asText())) {
                text.append(new String(Base64.getDecoder().decode(l.get("data").asText()), StandardCharsets.UTF_8));
                int last = lastTick(text);
                if (last >= atLeast) {
                    return last;
                }
            }
        }
        throw new AssertionError("stream ended before tick " + atLeast + ": " + text);
    }

    private static int lastTick(CharSequence text) {
        Matcher m = TICK.matcher(text);
        int last = -1;
        while (m.find()) {
            last = Integer.parseInt(m.group(1));
        }
        return last;
    }

    private static String status(ApiClient api, String id, String pid) {
        Response r = api.process("GET", PROCESS, id, pid, null);
        assertEquals(200, r.status(), r.text());
        return r.json().get("status").asText();
    }

    @Test
    void backgroundProcessThroughPauseAndResume(@TempDir Path dir) throws Exception {
        try (RealServer real = RealServer.start(dir)) {
            ApiClient api = real.api();
            long t0 = System.nanoTime();
            Response created = api.create("{\"memory_mb\":256}");
            assertEquals(201, created.status(), created.text());
            String id = created.json().get("id").asText();
            System.out.printf("create: %d ms%n", (System.nanoTime() - t0) / 1_000_000);

            Response started = api.startProcess(id, "{\"cmd\":\"sh\",\"args\":[\"-c\"," + ApiClient.quote(LOOP)
                    + "]}");
            assertEquals(201, started.status(), started.text());
            String pid = started.json().get("pid").asText();
            assertEquals("running", started.json().get("status").asText());
            Response list = api.process("GET", PROCESSES, id, "", null);
            assertEquals(200, list.status(), list.text());
            assertTrue(list.json().get("processes").findValuesAsText("pid").contains(pid), list.text());
            assertEquals("running", status(api, id, pid));

            // the first lines; then the client goes away mid-stream
            StringBuilder before = new StringBuilder();
            try (ApiClient.StreamedLines lines = api.streamProcess(id, pid)) {
                readUntilTick(lines, before, 1);
            }
            assertTrue(before.toString().startsWith("tick 0\ntick 1\n"), before.toString());

            t0 = System.nanoTime();
            Response paused = api.post(SandboxApiTest.PAUSE, id, null);
            assertEquals(200, paused.status(), paused.text());
            Response resumed = api.post(SandboxApiTest.RESUME, id, null);
            assertEquals(200, resumed.status(), resumed.text());
            System.out.printf("pause + resume: %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            assertEquals("running", status(api, id, pid), "still running after the resume");

            // a foreground exec meanwhile gets its own status (the agent reaps both kinds)
            Response exec = api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"exit 7\"]}");
            assertEquals(200, exec.status(), exec.text());
            assertEquals(7, exec.json().get("exit_code").asInt(), exec.text());

            // a new stream replays the kept output from tick 0 and goes on past what was seen before the pause
            int seen = lastTick(before);
            StringBuilder after = new StringBuilder();
            try (ApiClient.StreamedLines lines = api.streamProcess(id, pid)) {
                int last = readUntilTick(lines, after, seen + 2);
                assertTrue(after.toString().startsWith("tick 0\ntick 1\n"), after.toString());
                for (int i = 0; i <= last; i++) {
                    assertTrue(after.indexOf("tick " + i + "\n") >= 0, "tick " + i + " missing: " + after);
                }
                Response sig = api.process("POST", PROCESS_SIGNAL, id, pid, "{\"signal\":\"TERM\"}");
                assertEquals(204, sig.status(), sig.text());
                JsonNode exit = null;
                for (JsonNode l; (l = lines.next()) != null; ) {
                    if ("exit".equals(l.get("type").asText())) {
                        exit = l;
                    }
                }
                assertNotNull(exit, "the stream ends with the exit line");
                assertEquals(143, exit.get("exit_code").asInt());
            }
            Response one = api.process("GET", PROCESS, id, pid, null);
            assertEquals("exited", one.json().get("status").asText(), one.text());
            assertEquals(143, one.json().get("exit_code").asInt(), one.text());
            Response again = api.process("POST", PROCESS_SIGNAL, id, pid, "{\"signal\":\"KILL\"}");
            assertEquals(409, again.status(), again.text());

            assertEquals(204, api.delete("/v1/sandboxes/{id}", id).status());
        }
    }
}
