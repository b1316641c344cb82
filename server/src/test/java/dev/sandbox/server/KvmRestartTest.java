package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A paused sandbox survives {@code kill -9} of the server: the real server runs as its own process (Main, as
 * tools/run starts it) over the real engine; after the kill a new process on the same data dir serves the sandbox
 * as paused, resumes it, and its file and process are there. Needs /dev/kvm; tools/test runs it.
 */
@Tag("kvm")
@Tag("own-part") // tools/lib/kvm-suite runs it alone (it starts server JVMs of its own), not with the module's other KVM classes
class KvmRestartTest {
    private static final Pattern LISTENING = Pattern.compile("listening on http://[^:]+:(\\d+)");

    /** The server JVM died of a fatal error (hs_err), not of anything the test did. */
    static final class ChildCrashed extends IOException {
        ChildCrashed(String message) {
            super(message);
        }
    }

    /**
     * The nested test host now and then kills a JVM with SIGSEGV/SIGILL in JIT code (see README, Tests); when that
     * hits one of the server processes, the whole scenario runs again on a fresh data dir, at most five times.
     */
    @Test
    void aPausedSandboxSurvivesKillDashNine(@TempDir Path dir) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                scenario(Files.createDirectories(dir.resolve("try-" + attempt)));
                return;
            } catch (ChildCrashed e) {
                if (attempt == 5) {
                    throw e;
                }
                System.out.println("the server JVM crashed (" + e.getMessage() + "); running the scenario again");
            }
        }
    }

    /**
     * Repetitions of pause, {@code kill -9} at once, restart, resume ({@code -Dsandbox.restart.repetitions}, 1..20,
     * default 3: each costs two JVM starts, not a boot). The second start finds its record store damaged and the
     * third finds it gone: the paused sandbox comes back from its snapshot's manifest either way.
     */
    static int repetitions() {
        return Math.clamp(Integer.getInteger("sandbox.restart.repetitions", 3), 1, 20);
    }

    private void scenario(Path data) throws Exception {
        Random random = new Random(3);
        byte[] blob = new byte[300_000];
        random.nextBytes(blob);
        Path vms = data.resolve("vms");
        Process server = start(data);
        int port;
        String id;
        String pid;
        try {
            port = port(server);
            ApiClient api = new ApiClient(port, new ContractValidator());
            Response created = api.create("{\"memory_mb\":128}");
            assertEquals(201, created.status(), created.text());
            id = created.json().get("id").asText();
            assertEquals(204, api.upload(id, "/root/kept.bin", blob).status());
            pid = api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"setsid sleep 100000 </dev/null >/dev/null"
                    + " 2>&1 & echo $!\"]}").json().get("stdout").asText().trim();
            assertTrue(pid.matches("\\d+"), pid);
        } catch (Exception | Error e) {
            server.destroyForcibly();
            throw e;
        }
        try {
            repeatKills(data, server, port, id, pid, blob, random);
        } finally {
            children.forEach(Process::destroyForcibly);  // whatever failed, no server outlives the test
        }
    }

    private void repeatKills(Path data, Process server, int port, String id, String pid, byte[] blob, Random random)
            throws Exception {
        Path vms = data.resolve("vms");
        Files.createDirectories(vms.resolve("sb-orphan"));
        Files.write(vms.resolve("sb-orphan").resolve("memory"), new byte[4096]);
        int reps = repetitions();
        for (int rep = 1; rep <= reps; rep++) {
            try {
                ApiClient api = new ApiClient(port, new ContractValidator());
                long t0 = System.nanoTime();
                JsonNode paused = api.post(SandboxApiTest.PAUSE, id, null).json();
                System.out.printf("repetition %d: pause over HTTP %d ms%n", rep, (System.nanoTime() - t0) / 1_000_000);
                assertEquals("paused", paused.get("status").asText(), paused.toString());
            } finally {
                server.destroyForcibly(); // SIGKILL right after the 200: no shutdown hook, no clean store close
                server.waitFor(30, TimeUnit.SECONDS);
            }
            assertTrue(Files.exists(vms.resolve(id).resolve("vmstate")));
            if (rep == 2) {
                byte[] garbage = new byte[1 << 16];
                random.nextBytes(garbage);
                Files.write(data.resolve("sandboxes.dat"), garbage);  // a damaged record store
            } else if (rep == 3) {
                Files.delete(data.resolve("sandboxes.dat"));  // a lost record store
            }
            server = start(data);
            port = port(server);
            ApiClient api = new ApiClient(port, new ContractValidator());
            JsonNode rec = api.get(SandboxApiTest.SANDBOX, id).json();
            assertEquals("paused", rec.get("status").asText(), "repetition " + rep + ": " + rec);
            assertFalse(Files.exists(vms.resolve("sb-orphan")), "a folder without manifest or record is moved");
            long t0 = System.nanoTime();
            Response resumed = api.post(SandboxApiTest.RESUME, id, null);
            System.out.printf("repetition %d: resume over HTTP after kill -9: %d ms%n", rep,
                    (System.nanoTime() - t0) / 1_000_000);
            assertEquals(200, resumed.status(), resumed.text());
            assertEquals("running", resumed.json().get("status").asText());
            assertArrayEquals(blob, api.download(id, "/root/kept.bin").body(), "repetition " + rep);
            JsonNode alive = api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"kill -0 " + pid
                    + " && echo alive\"]}").json();
            assertEquals("alive\n", alive.get("stdout").asText(), alive.toString());
            random.nextBytes(blob);  // the next pause must keep this newer content
            assertEquals(204, api.upload(id, "/root/kept.bin", blob).status());
        }
        try {
            ApiClient api = new ApiClient(port, new ContractValidator());
            assertTrue(Files.exists(vms.resolve(".quarantine")), "the orphan was quarantined, not deleted");
            assertEquals(204, api.delete(SandboxApiTest.SANDBOX, id).status());
            assertFalse(Files.exists(vms.resolve(id)), "destroy removes the snapshot folder");
        } finally {
            server.destroy(); // SIGTERM: the clean path
            if (!server.waitFor(60, TimeUnit.SECONDS)) {
                server.destroyForcibly();
            }
        }
    }

    private final List<Process> children = new ArrayList<>();

    private Process start(Path data) throws IOException {
        String root = System.getProperty("sandbox.root", Path.of("").toAbsolutePath().getParent().toString());
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@" + Path.of(root, "tools", "jvm.args"),
                "-Dsandbox.guest.dir=" + System.getProperty("sandbox.guest.dir"),
                "-cp", classPath(), Main.class.getName(),
                "--host", "127.0.0.1", "--port", "0", "--data-dir", data.toString()));
        if (System.getenv("KVMHOST") != null) {
            cmd.add(2, "-XX:TieredStopAtLevel=1"); // as tools/lib/kvm-suite does in the nested host, for the same reason
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        children.add(p);
        return p;
    }

    /** This test's class path: JUnit's console launcher loads it in a URLClassLoader of its own, Surefire not. */
    private static String classPath() {
        if (KvmRestartTest.class.getClassLoader() instanceof URLClassLoader loader) {
            List<String> entries = new ArrayList<>();
            for (URL url : loader.getURLs()) {
                try {
                    entries.add(Path.of(url.toURI()).toString());
                } catch (URISyntaxException e) {
                    throw new IllegalStateException("class path entry " + url, e);
                }
            }
            return String.join(java.io.File.pathSeparator, entries);
        }
        return System.getProperty("java.class.path");
    }

    /** Reads the child's output until it says where it listens; echoes the rest in the background. */
    private static int port(Process p) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        boolean crashed = false;
        while ((line = out.readLine()) != null) {
            System.out.println("server> " + line);
            crashed |= line.contains("A fatal error has been detected by the Java Runtime Environment");
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                Thread.ofPlatform().daemon().start(() -> {
                    try {
                        out.lines().forEach(l -> System.out.println("server> " + l));
                    } catch (java.io.UncheckedIOException e) {
                        // the test destroyed the process and closed its stream: the echo just ends
                    }
                });
                return Integer.parseInt(m.group(1));
            }
        }
        int exit = p.onExit().join().exitValue();
        if (crashed) {
            throw new ChildCrashed("exit " + exit + " with a JVM fatal error report");
        }
        throw new IOException("the server exited before listening (exit " + exit + ")");
    }
}
