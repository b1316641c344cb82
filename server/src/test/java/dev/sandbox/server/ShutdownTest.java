package dev.sandbox.server;

import dev.sandbox.server.SandboxRecord.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SIGTERM to a server process (as {@code tools/run} in the nested host gets it from {@code tools/kvmhost}): the
 * server stops its running sandboxes, records that, and closes its store cleanly. Chronicle Map once closed the
 * store from its own exit hook while ours still wrote to it: the records were never flushed as stopped and the
 * hook died of {@code ChronicleHashClosedException}.
 */
class ShutdownTest {

    /** The server as Main runs it (same exit hook), over the fake engine; prints its port and the sandbox id. */
    public static final class FakeServerMain {
        public static void main(String[] args) {
            Path data = Path.of(args[0]);
            SandboxServer server = SandboxServer.start(TestServers.config(data), new FakeEngine(data.resolve("vms")));
            Main.closeOnExit(server);
            String id = SandboxApiTest.createRunning(new ApiClient(server.port(), SandboxApiTest.CONTRACT));
            System.out.println("ready " + id);
            System.out.flush();
        }
    }

    @Test
    void sigtermRecordsTheStoppedSandboxesAndClosesTheStoreCleanly(@TempDir Path dir) throws Exception {
        String root = System.getProperty("sandbox.root", Path.of("").toAbsolutePath().getParent().toString());
        Process p = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@" + Path.of(root, "tools", "jvm.args"), "-cp", System.getProperty("java.class.path"),
                FakeServerMain.class.getName(), dir.toString())).redirectErrorStream(true).start();
        StringBuilder out = new StringBuilder();
        String id = null;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                out.append(line).append('\n');
                if (line.startsWith("ready ")) {
                    id = line.substring(6);
                    p.toHandle().destroy();  // SIGTERM (Process.destroy would also close our end of its output)
                }
            }
        } finally {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        assertTrue(id != null, "the server never got ready:\n" + out);
        assertFalse(out.toString().contains("ChronicleHashClosedException"), out.toString());
        assertTrue(out.toString().contains("shutting down"), out.toString());
        assertTrue(Files.exists(dir.resolve("sandboxes.clean")), "the store was not closed cleanly:\n" + out);
        try (RecordStore store = RecordStore.open(dir, 1000, new Json())) {
            SandboxRecord rec = store.get(id).orElseThrow();
            assertEquals(Status.STOPPED, rec.status(), out.toString());
            assertEquals("the server shut down", rec.statusReason());
        }
    }
}
