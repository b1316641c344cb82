package dev.sandbox.engine.vmm;

import dev.sandbox.engine.vmm.snapshot.MemoryImage;
import dev.sandbox.engine.vmm.snapshot.SnapshotCodec;
import dev.sandbox.engine.vmm.snapshot.SnapshotCodecTest;
import dev.sandbox.engine.vmm.snapshot.SnapshotFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TemplatesTest {
    @TempDir
    Path data;

    private Path template(String name, long lastUsed) throws IOException {
        Path t = Files.createDirectories(data.resolve(".templates").resolve(name));
        Files.write(t.resolve("memory"), new byte[4096]);
        Files.write(t.resolve("vmstate"), new byte[16]);
        Files.createFile(t.resolve(Templates.LAST_USED));
        Files.setLastModifiedTime(t.resolve(Templates.LAST_USED), FileTime.fromMillis(lastUsed));
        return t;
    }

    /** A paused clone's snapshot folder whose vmstate names {@code template}'s memory file as its base. */
    private void pausedCloneOf(String id, Path template) throws IOException {
        Path folder = Files.createDirectories(data.resolve(id));
        var state = SnapshotCodecTest.sample().withMemory(new MemoryImage(template.resolve("memory"), 128L << 20,
                0, "", 0, 0));
        SnapshotFile.write(folder.resolve("vmstate"), SnapshotCodec.encode(state));
    }

    @Test
    void unusedOldTemplatesGoAndAnythingAPausedOrRunningCloneNeedsStays() throws IOException {
        Path old = template("minimal-1cpu-256mb-00000001", 1000);
        Path oldPaused = template("minimal-1cpu-512mb-00000001", 1000);
        Path oldRunning = template("minimal-2cpu-256mb-00000001", 1000);
        Path current = template("minimal-1cpu-256mb-00000002", 2000);
        pausedCloneOf("sb-paused", oldPaused);
        Set<Path> mapped = new HashSet<>(Set.of(oldRunning.resolve("memory")));
        Templates templates = new Templates(data.resolve(".templates"), data, 8, 1L << 30, () -> mapped);

        assertTrue(templates.inUse(oldPaused));
        assertTrue(templates.inUse(oldRunning));
        assertFalse(templates.inUse(old));
        List<String> removed = templates.prune(t -> t.getFileName().toString().endsWith("00000002"));
        assertEquals(List.of(old.getFileName().toString()), removed);
        assertTrue(Files.exists(oldPaused.resolve("memory")), "a paused clone can still resume");
        assertTrue(Files.exists(oldRunning), "a running clone maps it");
        assertTrue(Files.exists(current));

        mapped.clear(); // the running clone is gone: its old template can go now
        assertEquals(List.of(oldRunning.getFileName().toString()),
                templates.prune(t -> t.getFileName().toString().endsWith("00000002")));
    }

    @Test
    void currentTemplatesBeyondTheCountGoLeastRecentlyUsedFirst() throws IOException {
        for (int i = 1; i <= 5; i++) {
            template("minimal-1cpu-" + (100 * i) + "mb-0000000a", 1000L * i);
        }
        Templates templates = new Templates(data.resolve(".templates"), data, 3, 1L << 30, Set::of);
        List<String> removed = templates.prune(t -> true);
        assertEquals(Set.of("minimal-1cpu-100mb-0000000a", "minimal-1cpu-200mb-0000000a"), Set.copyOf(removed));
        assertTrue(Files.exists(data.resolve(".templates").resolve("minimal-1cpu-500mb-0000000a")));
    }

    @Test
    void namesAsTheEngineMakesThemParse() {
        // a negative hash prints as 16 hex digits: the first template made in the KVM suite was one
        var m = Templates.NAME.matcher("minimal-2cpu-256mb-ffffffffcd51da18");
        assertTrue(m.matches());
        assertEquals("minimal", m.group(1));
        assertEquals("2", m.group(2));
        assertEquals("256", m.group(3));
        assertTrue(Templates.NAME.matcher("python-1cpu-512mb-0badcafe").matches());
        assertFalse(Templates.NAME.matcher(".quarantine").matches());
    }
}
