package dev.sandbox.engine.templates;

import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.TemplateInfo;
import dev.sandbox.engine.TemplateInfo.Kind;
import dev.sandbox.engine.TemplateInfo.Status;
import dev.sandbox.engine.TemplateRecipe;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The catalog with fake build runners (one that writes a file, one that throws, one that blocks): built-ins from a
 * guest folder, builds to READY and FAILED, what survives a new catalog on the same folder (records, a build a dead
 * process left, a half-done delete), the refusals of start and delete, and one winner of two starts.
 */
class TemplateCatalogTest {

    static final Instant T0 = Instant.parse("2026-12-03T10:00:00.123Z");

    @TempDir
    Path tmp;
    Path guest;
    Path images;
    TemplateCatalog catalog;

    /** Writes "image of NAME" as the image, logging a line, as a real build would after its steps. */
    static final BuildRunner WRITES = (recipe, base, out, log) -> {
        log.line("installing " + String.join(" ", recipe.packages()));
        Files.writeString(out, "image of " + recipe.name() + " from " + base.image().getFileName());
    };

    @BeforeEach
    void setUp() throws IOException {
        guest = Files.createDirectories(tmp.resolve("guest"));
        images = tmp.resolve("data/.images");
        Files.writeString(guest.resolve("minimal.cpio.gz"), "initramfs");
        Path cache = Files.createDirectories(tmp.resolve("cache"));
        Files.write(cache.resolve("python-abc123.ext4"), new byte[4096]);
        Files.createSymbolicLink(guest.resolve("python.ext4"), cache.resolve("python-abc123.ext4"));
        Files.writeString(guest.resolve("vmlinux"), "kernel");
        catalog = open();
    }

    @AfterEach
    void tearDown() {
        catalog.close();
    }

    TemplateCatalog open() {
        return new TemplateCatalog(guest, images, Clock.fixed(T0, ZoneOffset.UTC));
    }

    static TemplateRecipe recipe(String name, String base) {
        return new TemplateRecipe(name, base, List.of("python3-numpy", "curl=7.88.1-10+deb12u5"),
                List.of("pip install requests"), List.of());
    }

    static TemplateInfo awaitEnd(TemplateCatalog catalog, String name) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            TemplateInfo t = catalog.find(name).orElseThrow();
            if (t.status() != Status.BUILDING) {
                return t;
            }
            Thread.sleep(5);
        }
        throw new AssertionError(name + " still building");
    }

    static EngineException refused(EngineException.Kind kind, Runnable r) {
        EngineException e = assertThrows(EngineException.class, r::run);
        assertEquals(kind, e.kind(), e.getMessage());
        return e;
    }

    // ---- built-ins -------------------------------------------------------------------------------------------

    @Test
    void builtInsComeFromTheGuestFolderLinksFollowed() throws IOException {
        List<TemplateInfo> all = catalog.list();
        assertEquals(List.of("minimal", "python"), all.stream().map(TemplateInfo::name).toList(), "vmlinux is none");
        TemplateInfo minimal = all.get(0);
        assertEquals(Kind.INITRAMFS, minimal.kind());
        assertEquals(Status.READY, minimal.status());
        assertTrue(minimal.builtIn());
        assertEquals(9, minimal.sizeBytes());
        assertNull(minimal.base());
        TemplateInfo python = all.get(1);
        assertEquals(Kind.DISK, python.kind());
        assertEquals(4096, python.sizeBytes(), "the link's target's size");

        assertEquals(new TemplateSource.Initramfs(guest.resolve("minimal.cpio.gz")), catalog.resolve("minimal"));
        assertEquals(new TemplateSource.Disk(guest.resolve("python.ext4"), 4096), catalog.resolve("python"));

        // a dangling link is no template; with both files the initramfs wins
        Files.createSymbolicLink(guest.resolve("gone.ext4"), tmp.resolve("nowhere"));
        Files.write(guest.resolve("minimal.ext4"), new byte[10]);
        assertEquals(2, catalog.list().size(), catalog.list().toString());
        assertEquals(Kind.INITRAMFS, catalog.find("minimal").orElseThrow().kind());
        assertTrue(catalog.find("gone").isEmpty());
    }

    @Test
    void unknownNamesAreInvalidSpecAndNeverEscapeTheFolders() throws IOException {
        Files.writeString(tmp.resolve("outside.cpio.gz"), "x");
        for (String name : new String[]{"nope", "../outside", "", "Minimal", "a/b"}) {
            EngineException e = refused(EngineException.Kind.INVALID_SPEC, () -> catalog.resolve(name));
            assertEquals("unknown template '" + name + "'", e.getMessage());
            assertTrue(catalog.find(name).isEmpty(), name);
        }
    }

    // ---- builds ----------------------------------------------------------------------------------------------

    @Test
    void aBuildIsRecordedBuildingThenReady() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicReference<TemplateSource.Disk> baseSeen = new AtomicReference<>();
        TemplateInfo started = catalog.start(recipe("py", "python"), (recipe, base, out, log) -> {
            baseSeen.set(base);
            assertTrue(release.await(10, TimeUnit.SECONDS));
            WRITES.build(recipe, base, out, log);
        });
        assertEquals(new TemplateInfo("py", Kind.DISK, Status.BUILDING, false, 0, T0, "python", null), started);
        // on disk before start returned: a new catalog would see it (here, read directly)
        assertEquals(Status.BUILDING, TemplateRecord.read(images.resolve("py")).status());
        assertEquals(started, catalog.find("py").orElseThrow());
        assertTrue(catalog.list().contains(started));
        EngineException building = refused(EngineException.Kind.INVALID_STATE, () -> catalog.resolve("py"));
        assertTrue(building.getMessage().contains("still building"), building.getMessage());

        release.countDown();
        TemplateInfo ready = awaitEnd(catalog, "py");
        assertEquals(Status.READY, ready.status(), String.valueOf(ready.message()));
        assertEquals(new TemplateSource.Disk(guest.resolve("python.ext4"), 4096), baseSeen.get());
        Path image = images.resolve("py/rootfs.ext4");
        assertEquals("image of py from python.ext4", Files.readString(image));
        assertEquals(Files.size(image), ready.sizeBytes());
        assertEquals(T0, ready.createdAt());
        assertFalse(ready.builtIn());
        assertNull(ready.message());
        assertEquals(new TemplateSource.Disk(image, Files.size(image)), catalog.resolve("py"));
        assertFalse(Files.exists(images.resolve("py/rootfs.ext4.partial")));
        String log = Files.readString(images.resolve("py/build.log"));
        assertTrue(log.contains("installing python3-numpy curl=7.88.1-10+deb12u5"), log);
        assertTrue(log.contains("ready: " + ready.sizeBytes() + " bytes"), log);
    }

    @Test
    void aCustomTemplateIsABaseForAnother() throws Exception {
        catalog.start(recipe("py", "python"), WRITES);
        assertEquals(Status.READY, awaitEnd(catalog, "py").status());
        catalog.start(recipe("py2", "py"), WRITES);
        TemplateInfo py2 = awaitEnd(catalog, "py2");
        assertEquals(Status.READY, py2.status());
        assertEquals("py", py2.base());
        assertEquals("image of py2 from rootfs.ext4", Files.readString(images.resolve("py2/rootfs.ext4")));
    }

    @Test
    void aFailedBuildKeepsTheReasonAndTheLogTailAndNoImage() throws Exception {
        catalog.start(recipe("bad", "python"), (recipe, base, out, log) -> {
            Files.writeString(out, "half an image");
            for (int i = 0; i < 50; i++) {
                log.line("step output " + i);
            }
            throw new IllegalStateException("run[0] exited 1: pip: command not found");
        });
        TemplateInfo failed = awaitEnd(catalog, "bad");
        assertEquals(Status.FAILED, failed.status());
        String message = failed.message();
        assertTrue(message.startsWith("run[0] exited 1: pip: command not found\n--- last lines of build.log ---"),
                message);
        assertTrue(message.contains("step output 49") && message.contains("step output 20"), message);
        assertFalse(message.contains("step output 19\n"), "only the last 30 lines: " + message);
        assertFalse(Files.exists(images.resolve("bad/rootfs.ext4.partial")), "partial files removed");
        assertFalse(Files.exists(images.resolve("bad/rootfs.ext4")));
        assertTrue(Files.readString(images.resolve("bad/build.log")).contains("failed: run[0] exited 1"));
        EngineException e = refused(EngineException.Kind.INVALID_STATE, () -> catalog.resolve("bad"));
        assertTrue(e.getMessage().contains("failed to build") && e.getMessage().contains("pip: command not found"),
                e.getMessage());
        assertFalse(e.getMessage().contains("step output"), "the first line only: " + e.getMessage());
    }

    @Test
    void aRunnerThatMakesNoImageFailsTheBuild() throws Exception {
        catalog.start(recipe("empty", "python"), (recipe, base, out, log) -> { });
        TemplateInfo t = awaitEnd(catalog, "empty");
        assertEquals(Status.FAILED, t.status());
        assertTrue(t.message().startsWith("the build ended without making an image"), t.message());
    }

    @Test
    void anErrorInTheRunnerStillEndsTheBuild() throws Exception {
        catalog.start(recipe("oom", "python"), (recipe, base, out, log) -> {
            throw new OutOfMemoryError("fake");
        });
        TemplateInfo t = awaitEnd(catalog, "oom");
        assertEquals(Status.FAILED, t.status());
        assertTrue(t.message().startsWith("fake"), t.message());
    }

    @Test
    void startRefusesTakenNamesBadBasesAndBadRecipes() throws Exception {
        EngineException taken = refused(EngineException.Kind.INVALID_STATE,
                () -> catalog.start(recipe("python", "python"), WRITES));
        assertEquals("template python exists", taken.getMessage());
        refused(EngineException.Kind.INVALID_STATE, () -> catalog.start(recipe("minimal", "python"), WRITES));
        catalog.start(recipe("py", "python"), WRITES);
        awaitEnd(catalog, "py");
        assertEquals("template py exists", refused(EngineException.Kind.INVALID_STATE,
                () -> catalog.start(recipe("py", "python"), WRITES)).getMessage());

        assertEquals("base: unknown template 'nope'", refused(EngineException.Kind.INVALID_SPEC,
                () -> catalog.start(recipe("x", "nope"), WRITES)).getMessage());
        assertTrue(refused(EngineException.Kind.INVALID_SPEC, () -> catalog.start(recipe("x", "minimal"), WRITES))
                .getMessage().contains("initramfs"));
        catalog.start(recipe("failing", "python"), (r, b, o, l) -> {
            throw new IOException("no");
        });
        awaitEnd(catalog, "failing");
        assertEquals("base: template failing is failed, not ready", refused(EngineException.Kind.INVALID_SPEC,
                () -> catalog.start(recipe("x", "failing"), WRITES)).getMessage());
        CountDownLatch never = new CountDownLatch(1);
        catalog.start(recipe("slow", "python"), (r, b, o, l) -> never.await());
        assertEquals("base: template slow is building, not ready", refused(EngineException.Kind.INVALID_SPEC,
                () -> catalog.start(recipe("x", "slow"), WRITES)).getMessage());

        assertTrue(refused(EngineException.Kind.INVALID_SPEC, () -> catalog.start(recipe("Bad.Name", "python"),
                WRITES)).getMessage().startsWith("name must be"));
        assertTrue(catalog.find("x").isEmpty(), "nothing recorded for refused starts");
        try (var files = Files.list(images)) {
            assertEquals(List.of("failing", "py", "slow"), files.map(p -> p.getFileName().toString()).sorted()
                    .toList());
        }
    }

    @Test
    void twoStartsOfOneNameGiveOneTemplate() throws Exception {
        int n = 8;
        CyclicBarrier barrier = new CyclicBarrier(n);
        AtomicInteger won = new AtomicInteger();
        AtomicInteger exists = new AtomicInteger();
        AtomicInteger builds = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    barrier.await();
                    catalog.start(recipe("race", "python"), (r, b, o, l) -> {
                        builds.incrementAndGet();
                        WRITES.build(r, b, o, l);
                    });
                    won.incrementAndGet();
                } catch (EngineException e) {
                    if (e.kind() == EngineException.Kind.INVALID_STATE) {
                        exists.incrementAndGet();
                    }
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(1, won.get());
        assertEquals(n - 1, exists.get());
        assertEquals(Status.READY, awaitEnd(catalog, "race").status());
        assertEquals(1, builds.get());
    }

    // ---- durability and recovery -----------------------------------------------------------------------------

    @Test
    void recordsAreReadBackByANewCatalog() throws Exception {
        catalog.start(recipe("good", "python"), WRITES);
        catalog.start(recipe("bad", "python"), (r, b, o, l) -> {
            l.line("E: Unable to locate package nope");
            throw new IOException("apt-get install failed (exit 100)");
        });
        TemplateInfo good = awaitEnd(catalog, "good");
        TemplateInfo bad = awaitEnd(catalog, "bad");
        catalog.close();

        catalog = open();
        assertEquals(good, catalog.find("good").orElseThrow());
        assertEquals(bad, catalog.find("bad").orElseThrow());
        assertTrue(bad.message().contains("apt-get install failed (exit 100)")
                && bad.message().contains("E: Unable to locate package nope"), bad.message());
        assertEquals(List.of("bad", "good", "minimal", "python"), catalog.list().stream().map(TemplateInfo::name)
                .toList());
    }

    @Test
    void aBuildADeadProcessLeftIsFailedAndItsPartialImageRemoved() throws Exception {
        Path dir = Files.createDirectories(images.resolve("orphan"));
        TemplateRecord.building("orphan", "python", T0).write(dir);
        Files.writeString(dir.resolve("rootfs.ext4.partial"), "half");
        Files.writeString(dir.resolve("build.log"), "building\nSetting up python3-numpy ...\n");
        Path noRecord = Files.createDirectories(images.resolve("norecord"));
        Files.writeString(noRecord.resolve("rootfs.ext4.partial"), "x");
        Path deleting = Files.createDirectories(images.resolve(".deleting-old-123"));
        Files.writeString(deleting.resolve("rootfs.ext4"), "x");
        Path foreign = Files.createDirectories(images.resolve("Not_Ours"));

        catalog.close();
        catalog = open();
        TemplateInfo t = catalog.find("orphan").orElseThrow();
        assertEquals(Status.FAILED, t.status());
        assertTrue(t.message().startsWith(TemplateCatalog.INTERRUPTED), t.message());
        assertTrue(t.message().contains("Setting up python3-numpy"), "the log's tail: " + t.message());
        assertFalse(Files.exists(dir.resolve("rootfs.ext4.partial")));
        assertEquals(Status.FAILED, TemplateRecord.read(dir).status(), "rewritten on disk");
        assertFalse(Files.exists(noRecord), "a folder whose start never answered is removed");
        assertFalse(Files.exists(deleting), "a delete that answered is finished");
        assertTrue(Files.exists(foreign), "what is not ours is left alone");
        assertTrue(catalog.find("norecord").isEmpty());
        catalog.delete("orphan", n -> false);
        assertTrue(catalog.find("orphan").isEmpty());
    }

    @Test
    void aReadyRecordWithoutItsImageAndAnUnreadableRecordAreListedFailed() throws Exception {
        Path lost = Files.createDirectories(images.resolve("lost"));
        TemplateRecord.building("lost", "python", T0).ready(100, T0).write(lost);
        Path garbled = Files.createDirectories(images.resolve("garbled"));
        Files.writeString(garbled.resolve("template"), "version=1\nname=garbled\nstatus=sideways\n");
        catalog.close();
        catalog = open();
        TemplateInfo l = catalog.find("lost").orElseThrow();
        assertEquals(Status.FAILED, l.status());
        assertTrue(l.message().contains("rootfs.ext4 is missing"), l.message());
        TemplateInfo g = catalog.find("garbled").orElseThrow();
        assertEquals(Status.FAILED, g.status());
        assertTrue(g.message().contains("unreadable"), g.message());
        catalog.delete("garbled", n -> false);
        assertFalse(Files.exists(garbled));
    }

    @Test
    void closeInterruptsBuildsWhichEndFailed() throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        catalog.start(recipe("long", "python"), (r, b, out, l) -> {
            Files.writeString(out, "partial");
            running.countDown();
            Thread.sleep(60_000);
        });
        assertTrue(running.await(10, TimeUnit.SECONDS));
        catalog.close();
        TemplateInfo t = catalog.find("long").orElseThrow();
        assertEquals(Status.FAILED, t.status());
        assertTrue(t.message().startsWith(TemplateCatalog.INTERRUPTED), t.message());
        assertFalse(Files.exists(images.resolve("long/rootfs.ext4.partial")));
        assertEquals(Status.FAILED, TemplateRecord.read(images.resolve("long")).status());
        refused(EngineException.Kind.INVALID_STATE, () -> catalog.start(recipe("later", "python"), WRITES));
    }

    // ---- delete ----------------------------------------------------------------------------------------------

    @Test
    void deleteRemovesACustomTemplateAndRefusesTheRest() throws Exception {
        catalog.start(recipe("py", "python"), WRITES);
        awaitEnd(catalog, "py");
        assertEquals("unknown template 'nope'", refused(EngineException.Kind.INVALID_SPEC,
                () -> catalog.delete("nope", n -> false)).getMessage());
        assertTrue(refused(EngineException.Kind.INVALID_STATE, () -> catalog.delete("python", n -> false))
                .getMessage().contains("built-in"));
        assertTrue(refused(EngineException.Kind.INVALID_STATE, () -> catalog.delete("minimal", n -> false))
                .getMessage().contains("built-in"));
        List<String> asked = new ArrayList<>();
        assertTrue(refused(EngineException.Kind.INVALID_STATE, () -> catalog.delete("py", n -> asked.add(n)))
                .getMessage().contains("used by sandboxes"));
        assertEquals(List.of("py"), asked);
        assertTrue(Files.exists(images.resolve("py/rootfs.ext4")), "refused: nothing removed");

        catalog.delete("py", n -> false);
        assertTrue(catalog.find("py").isEmpty());
        try (var files = Files.list(images)) {
            assertEquals(0, files.count(), "its folder is gone");
        }
        refused(EngineException.Kind.INVALID_SPEC, () -> catalog.delete("py", n -> false));
        refused(EngineException.Kind.INVALID_SPEC, () -> catalog.resolve("py"));
        catalog.start(recipe("py", "python"), WRITES);
        assertEquals(Status.READY, awaitEnd(catalog, "py").status(), "the name is free again");
    }

    @Test
    void deleteWaitsForTheBuildAndKeepsTheBaseOfOne() throws Exception {
        catalog.start(recipe("base", "python"), WRITES);
        awaitEnd(catalog, "base");
        CountDownLatch release = new CountDownLatch(1);
        catalog.start(recipe("child", "base"), (r, b, o, l) -> {
            assertTrue(release.await(10, TimeUnit.SECONDS));
            WRITES.build(r, b, o, l);
        });
        assertTrue(refused(EngineException.Kind.INVALID_STATE, () -> catalog.delete("child", n -> false))
                .getMessage().contains("is building"));
        assertEquals("template base is the base of template child, which is building",
                refused(EngineException.Kind.INVALID_STATE, () -> catalog.delete("base", n -> false)).getMessage());
        release.countDown();
        assertEquals(Status.READY, awaitEnd(catalog, "child").status());
        catalog.delete("base", n -> false);
        assertEquals(Status.READY, catalog.find("child").orElseThrow().status(), "a child has its own image");
        catalog.delete("child", n -> false);
    }

    @Test
    void aTemplateRecordRoundTripsItsMessage() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("rec"));
        String message = "line one\\n not a newline\nline two\r\n\\";
        TemplateRecord rec = TemplateRecord.building("x", "python", T0).failed(message);
        rec.write(dir);
        assertEquals(rec, TemplateRecord.read(dir));
        assertEquals(1, Files.readString(dir.resolve("template")).lines().filter(l -> l.startsWith("message="))
                .count(), "one line");
    }
}
