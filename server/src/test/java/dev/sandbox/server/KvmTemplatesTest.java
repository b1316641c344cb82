package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static dev.sandbox.server.ApiClient.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Disk templates end to end: real microVMs whose root is the {@code python} template's ext4 image on our virtio-blk
 * with a copy-on-write overlay per sandbox, and a custom template built in a VM from a Debian package served by a
 * stand-in archive in a namespace of the test's own (nothing leaves this machine). Needs /dev/kvm, root and
 * {@code -Dsandbox.guest.dir} with {@code python.ext4} in it (tools/setup builds it).
 */
@Tag("kvm")
@Tag("own-part")
class KvmTemplatesTest {
    private static final String APT_SOURCE = "deb [trusted=yes] http://" + StandInInternet.SERVER + "/ ./";
    private static final String PYTHON = "{\"template\":\"python\",\"memory_mb\":512}";

    private static Path dir;
    private static RealServer real;
    private static ApiClient api;
    private static StandInInternet internet;

    @BeforeAll
    static void start() throws IOException {
        dir = Files.createTempDirectory("kvm-templates-test");
        internet = StandInInternet.start(dir);
        TestAptRepo.write(internet.root());
        real = RealServer.start(dir, TestServers.config(dir.resolve("state")).withAptSources(List.of(APT_SOURCE)));
        api = real.api();
    }

    @AfterAll
    static void stop() {
        try {
            if (real != null) {
                real.close();
            }
        } finally {
            if (internet != null) {
                internet.close();
            }
        }
    }

    private static String create(String json) {
        Response r = api.create(json);
        assertEquals(201, r.status(), r.text());
        return r.json().get("id").asText();
    }

    /** Runs a shell script in the guest; returns "exit_code\nstdout". */
    private static String sh(String id, String script) {
        Response r = api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\"," + ApiClient.quote(script)
                + "],\"timeout_sec\":120}");
        assertEquals(200, r.status(), r.text());
        return r.json().get("exit_code").asInt() + "\n" + r.json().get("stdout").asText();
    }

    private static void destroy(String id) {
        assertEquals(204, api.delete("/v1/sandboxes/{id}", id).status());
    }

    @Test
    void python3RunsWithPipAndVenvAndAGigabyteFree() {
        String id = create(PYTHON);
        try {
            assertEquals("0\n45 3\n", sh(id, "python3 -c 'import sys; print(sum(range(10)), sys.version_info[0])'"));
            assertTrue(sh(id, "python3 -m pip --version").startsWith("0\npip "), "pip is there");
            assertEquals("0\nvenv ok\n", sh(id, "python3 -m venv /tmp/v && /tmp/v/bin/python -c 'print(\"venv ok\")'"));
            String free = sh(id, "df -m / | awk 'NR==2 {print $4}'");
            assertTrue(free.startsWith("0\n") && Long.parseLong(free.substring(2).trim()) >= 1024,
                    "at least 1 GiB free on /: " + free);
            // the kernel names its root /dev/root in /proc/mounts: compare device numbers
            assertEquals("0\nvda\n", sh(id, "test \"$(mountpoint -d /)\" = \"$(cat /sys/block/vda/dev)\" && echo vda"));
        } finally {
            destroy(id);
        }
    }

    @Test
    void filesAnywhereOnTheRootSurvivePauseAndResumeAndArePrivate() {
        String a = create(PYTHON);
        String b = create(PYTHON);
        try {
            String write = "echo mine > /etc/marker && dd if=/dev/urandom of=/usr/local/lib/blob bs=1M count=8"
                    + " 2>/dev/null && sync && md5sum /usr/local/lib/blob | cut -d' ' -f1";
            String sum = sh(a, write);
            assertTrue(sum.startsWith("0\n") && sum.length() > 30, sum);
            assertEquals("paused", api.post(SandboxApiTest.PAUSE, a, null).json().get("status").asText());
            assertEquals("running", api.post(SandboxApiTest.RESUME, a, null).json().get("status").asText());
            assertEquals(sum, sh(a, "md5sum /usr/local/lib/blob | cut -d' ' -f1"), "the blob came back whole");
            assertEquals("0\nmine\n", sh(a, "cat /etc/marker"));
            assertEquals("1\n", sh(b, "test -e /etc/marker || test -e /usr/local/lib/blob"),
                    "another sandbox of the template sees none of it");
            assertEquals("0\nmine\n", sh(a, "cat /etc/marker"), "and writes in b changed nothing in a");
        } finally {
            destroy(a);
            destroy(b);
        }
    }

    @Test
    void aDamagedOverlayIsRefusedAtResumeAndKept() throws IOException {
        String id = create(PYTHON);
        try {
            assertEquals("0\n", sh(id, "echo precious > /root/keep && sync"));
            assertEquals("paused", api.post(SandboxApiTest.PAUSE, id, null).json().get("status").asText());
            Path map = dir.resolve("vms").resolve(id).resolve("disk.map");
            assertTrue(Files.isRegularFile(map), "the overlay's block map is in the sandbox's folder: " + map);
            long size = Files.size(map);
            try (RandomAccessFile f = new RandomAccessFile(map.toFile(), "rw")) {
                f.seek(size / 2);
                int b = f.read();
                f.seek(size / 2);
                f.write(b ^ 0x5a);
            }
            Response r = api.post(SandboxApiTest.RESUME, id, null);
            assertTrue(r.status() >= 400 && r.status() != 404, r.text());
            assertTrue(r.text().contains("damaged") || r.text().contains("overlay"), r.text());
            assertEquals("paused", api.get("/v1/sandboxes/{id}", id).json().get("status").asText(),
                    "refused, the sandbox stays paused with its files");
            assertTrue(Files.isRegularFile(map));
        } finally {
            destroy(id);
        }
    }

    @Test
    void aCustomTemplateWithADebianPackageIsBuiltInAVmAndUsed() throws InterruptedException {
        Response started = api.post("/v1/templates", null, "{\"name\":\"hello\",\"base\":\"python\","
                + "\"packages\":[\"" + TestAptRepo.PACKAGE + "\"],\"run\":[\"echo step-ran > /etc/hello-step\"]}");
        assertEquals(202, started.status(), started.text());
        assertEquals("building", started.json().get("status").asText());
        JsonNode t = awaitBuilt("hello");
        assertEquals("ready", t.get("status").asText(), t.toString());
        String id = create("{\"template\":\"hello\",\"memory_mb\":512}");
        try {
            assertEquals("0\n" + TestAptRepo.GREETING + "\n", sh(id, TestAptRepo.COMMAND));
            assertEquals("0\nstep-ran\n", sh(id, "cat /etc/hello-step"));
            assertEquals("0\n45\n", sh(id, "python3 -c 'print(sum(range(10)))'"), "its base's python too");
            assertError(409, "invalid_state", api.delete("/v1/templates/{name}", "hello"));
        } finally {
            destroy(id);
        }
        assertEquals(204, api.delete("/v1/templates/{name}", "hello").status());
        assertError(404, "not_found", api.get("/v1/templates/{name}", "hello"));
        assertError(404, "not_found", api.create("{\"template\":\"hello\"}"));
    }

    private static JsonNode awaitBuilt(String name) throws InterruptedException {
        long deadline = System.nanoTime() + 20L * 60 * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            JsonNode t = api.get("/v1/templates/{name}", name).json();
            if (!"building".equals(t.get("status").asText())) {
                return t;
            }
            Thread.sleep(2000);
        }
        throw new AssertionError("template " + name + " still building after 20 minutes");
    }

    @Test
    void twentyCreateDestroyCyclesLeaveNoFilesAndNoDescriptors() throws IOException {
        String warm = create(PYTHON); // the template snapshot is made once, before counting
        destroy(warm);
        List<String> before = files();
        long fds = openFds();
        for (int i = 0; i < 20; i++) {
            String id = create(PYTHON);
            assertEquals("0\n", sh(id, "echo x > /root/f-" + i + " && sync"));
            destroy(id);
        }
        assertEquals(before, files(), "sandbox folders and overlays all removed");
        long after = openFds();
        assertTrue(after <= fds + 8, "open descriptors " + fds + " -> " + after);
        assertFalse(files().stream().anyMatch(f -> f.endsWith("/disk")), "no overlay left");
    }

    /** Everything under the engine's data dir but its template snapshots and images. */
    private static List<String> files() throws IOException {
        Path vms = dir.resolve("vms");
        try (Stream<Path> s = Files.walk(vms)) {
            return s.map(p -> vms.relativize(p).toString())
                    .filter(p -> !p.isEmpty() && !p.startsWith(".templates") && !p.startsWith(".images"))
                    .sorted().toList();
        }
    }

    private static long openFds() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }
}
