package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.server.ApiClient.Response;
import dev.sandbox.server.SandboxRecord.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Section 1 of issue 13: a pause that answered 200 survives a crash, whatever the record store lost. A "crash" is
 * a copy of the data taken while the server runs (the store's file open, no clean marker), then started on.
 */
class CrashRecoveryTest {

    private static final ContractValidator CONTRACT = new ContractValidator();

    /** A server with a paused sandbox holding /kept.txt, crash-copied into {@code copy}; returns the id. */
    private static String pausedThenCrashed(Path dir, Path copy) {
        try (SandboxServer a = TestServers.start(TestServers.config(dir.resolve("state")),
                new FakeEngine(dir.resolve("vms")))) {
            ApiClient api = new ApiClient(a.port(), CONTRACT);
            String id = api.create("{\"vcpus\":2,\"memory_mb\":256}").json().get("id").asText();
            assertEquals(204, api.upload(id, "/kept.txt", "kept through the crash".getBytes()).status());
            assertEquals(200, api.post(SandboxApiTest.PAUSE, id, null).status());
            copyTree(dir.resolve("state"), copy.resolve("state"));
            copyTree(dir.resolve("vms"), copy.resolve("vms"));
            return id;
        }
    }

    /** Starts on the copy and checks the sandbox is paused, resumes and still has its file. */
    private static void resumesWithItsFile(Path copy, String id) {
        try (SandboxServer b = TestServers.start(TestServers.config(copy.resolve("state")),
                new FakeEngine(copy.resolve("vms")))) {
            ApiClient api = new ApiClient(b.port(), CONTRACT);
            JsonNode rec = api.get(SandboxApiTest.SANDBOX, id).json();
            assertEquals("paused", rec.get("status").asText(), rec.toString());
            assertEquals(2, rec.get("vcpus").asInt(), "the spec comes back from the manifest: " + rec);
            assertEquals(256, rec.get("memory_mb").asInt());
            Response resumed = api.post(SandboxApiTest.RESUME, id, null);
            assertEquals(200, resumed.status(), resumed.text());
            assertEquals("kept through the crash", api.download(id, "/kept.txt").text());
        }
    }

    @Test
    void aLostRecordComesBackFromTheManifest(@TempDir Path dir) throws IOException {
        Path copy = dir.resolve("copy");
        String id = pausedThenCrashed(dir, copy);
        deleteTree(copy.resolve("state"));  // the store lost everything
        try (SandboxServer b = TestServers.start(TestServers.config(copy.resolve("state")),
                new FakeEngine(copy.resolve("vms")))) {
            JsonNode rec = new ApiClient(b.port(), CONTRACT).get(SandboxApiTest.SANDBOX, id).json();
            assertEquals("paused", rec.get("status").asText(), rec.toString());
            assertTrue(rec.get("status_reason").asText().contains("re-created"), rec.toString());
        }
        resumesWithItsFile(copy, id);
    }

    @Test
    void aDamagedStoreLosesNoPausedSandbox(@TempDir Path dir) throws IOException {
        Path copy = dir.resolve("copy");
        String id = pausedThenCrashed(dir, copy);
        byte[] garbage = new byte[64 * 1024];
        new Random(1).nextBytes(garbage);
        Files.write(copy.resolve("state/sandboxes.dat"), garbage);
        resumesWithItsFile(copy, id);
    }

    @Test
    void aStoppedOrRunningRecordWithAPausedSnapshotIsPausedAgain(@TempDir Path dir) {
        for (Status lost : new Status[]{Status.STOPPED, Status.RUNNING}) {
            Path copy = dir.resolve("copy-" + lost.wire());
            String id = pausedThenCrashed(dir.resolve(lost.wire()), copy);
            // what Chronicle Map's recovery was seen doing: the paused status rolled back
            try (RecordStore store = RecordStore.open(copy.resolve("state"), 100, new Json())) {
                store.update(id, r -> r.withStatus(lost, Instant.now(), "rolled back by a crash"));
            }
            resumesWithItsFile(copy, id);
        }
    }

    @Test
    void onlyARecordedDestroyDeletesASnapshot(@TempDir Path dir) {
        Path copy = dir.resolve("copy");
        String id = pausedThenCrashed(dir, copy);
        Path snapshot = copy.resolve("vms/.snapshots").resolve(id);
        assertTrue(Files.exists(snapshot.resolve("manifest")));
        // the process died after recording the destroy, before deleting the files
        new DestroyJournal(copy.resolve("state/destroyed")).record(id);
        try (SandboxServer b = TestServers.start(TestServers.config(copy.resolve("state")),
                new FakeEngine(copy.resolve("vms")))) {
            ApiClient api = new ApiClient(b.port(), CONTRACT);
            assertEquals("stopped", api.get(SandboxApiTest.SANDBOX, id).json().get("status").asText());
            assertFalse(Files.exists(snapshot), "the recorded destroy was finished");
            assertTrue(new DestroyJournal(copy.resolve("state/destroyed")).pending().isEmpty());
            // and a destroy through the API leaves neither files nor a journal entry
            String other = api.create("{}").json().get("id").asText();
            assertEquals(200, api.post(SandboxApiTest.PAUSE, other, null).status());
            assertTrue(Files.exists(copy.resolve("vms/.snapshots").resolve(other)));
            assertEquals(204, api.delete(SandboxApiTest.SANDBOX, other).status());
            assertFalse(Files.exists(copy.resolve("vms/.snapshots").resolve(other)));
            assertTrue(new DestroyJournal(copy.resolve("state/destroyed")).pending().isEmpty());
        }
    }

    @Test
    void anEngineThatDidNotOpenDeletesNothing(@TempDir Path dir) {
        Path copy = dir.resolve("copy");
        String id = pausedThenCrashed(dir, copy);
        try (SandboxServer b = TestServers.start(TestServers.config(copy.resolve("state")),
                UnavailableEngine.because(copy.resolve("vms"), "no /dev/kvm today"))) {
            ApiClient api = new ApiClient(b.port(), CONTRACT);
            assertEquals("paused", api.get(SandboxApiTest.SANDBOX, id).json().get("status").asText());
            Response resume = api.post(SandboxApiTest.RESUME, id, null);
            assertEquals(503, resume.status(), resume.text());
            assertEquals("paused", api.get(SandboxApiTest.SANDBOX, id).json().get("status").asText());
        }
        assertTrue(Files.exists(copy.resolve("vms/.snapshots").resolve(id).resolve("manifest")));
        resumesWithItsFile(copy, id);
    }

    @Test
    void aFolderWithoutManifestOrRecordIsQuarantinedNotDeleted(@TempDir Path dir) throws IOException {
        Path copy = dir.resolve("copy");
        String id = pausedThenCrashed(dir, copy);
        Path orphan = Files.createDirectories(copy.resolve("vms/.snapshots/sb-orphan"));
        Files.write(orphan.resolve("memory"), new byte[]{1, 2, 3});
        resumesWithItsFile(copy, id);
        assertFalse(Files.exists(orphan));
        Path quarantine = copy.resolve("vms/.snapshots/.quarantine");
        try (Stream<Path> moved = Files.list(quarantine)) {
            Path kept = moved.filter(p -> p.getFileName().toString().startsWith("sb-orphan")).findFirst()
                    .orElse(null);
            assertNotNull(kept, "moved to quarantine");
            assertEquals(3, Files.size(kept.resolve("memory")));
        }
    }

    /** A snapshot the engine cannot take back makes the start careful: nothing is quarantined or deleted. */
    @Test
    void aFailedTakeBackLeavesEveryFolderWhereItIs(@TempDir Path dir) throws IOException {
        Path vms = dir.resolve("vms");
        Path odd = Files.createDirectories(vms.resolve(".snapshots/sb-odd"));
        Files.writeString(odd.resolve("manifest"), "id=sb-odd\ntemplate=broken\nvcpus=1\nmemory_mb=128\n");
        Path orphan = Files.createDirectories(vms.resolve(".snapshots/sb-orphan"));
        Files.write(orphan.resolve("memory"), new byte[]{1});
        try (SandboxServer s = TestServers.start(TestServers.config(dir.resolve("state")), new FakeEngine(vms))) {
            assertEquals(404, new ApiClient(s.port(), CONTRACT).get(SandboxApiTest.SANDBOX, "sb-odd").status());
        }
        assertTrue(Files.exists(odd.resolve("manifest")));
        assertTrue(Files.exists(orphan.resolve("memory")), "not quarantined while a take-back failed");
    }

    static void copyTree(Path from, Path to) {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else if (!p.getFileName().toString().equals("sandboxes.clean")) {
                    Files.copy(p, target);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteTree(Path p) throws IOException {
        try (Stream<Path> all = Files.walk(p)) {
            all.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
