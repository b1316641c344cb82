package dev.sandbox.engine.templates;

import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.TemplateInfo;
import dev.sandbox.engine.TemplateRecipe;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Every template sandboxes can be created from. Built-in ones are files in the guest folder that {@code tools/setup}
 * makes: {@code <name>.cpio.gz} (an initramfs) or {@code <name>.ext4} (a root disk image); both may be symlinks
 * into a cache, and when both exist the initramfs wins. Custom ones live under {@code imagesDir}, one folder each:
 * <pre>
 *   imagesDir/&lt;name&gt;/template            the durable record ({@link TemplateRecord}): status, base, size, times
 *   imagesDir/&lt;name&gt;/rootfs.ext4         the image, once READY
 *   imagesDir/&lt;name&gt;/rootfs.ext4.partial what a build is making (never seen by a sandbox)
 *   imagesDir/&lt;name&gt;/build.log           the build's log ({@link BuildLog})
 *   imagesDir/.deleting-&lt;name&gt;-N/       a deleted template on its way out
 * </pre>
 * A custom template is BUILDING (its record written and synced before {@link #start} returns), then READY or
 * FAILED. A build that a dead process left BUILDING is marked FAILED when the next catalog opens, its partial
 * image removed. A delete renames the folder away first, so a crash never leaves half a template that looks whole.
 * <p>
 * {@link #start}, {@link #delete} and a build's end are serialised by one lock (so two starts of one name give one
 * template, and a delete never meets a half-started one); {@link #list}, {@link #find} and {@link #resolve} take no
 * lock.
 */
public final class TemplateCatalog implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(TemplateCatalog.class.getName());

    public static final String INITRAMFS_SUFFIX = ".cpio.gz";
    public static final String DISK_SUFFIX = ".ext4";
    static final String IMAGE = "rootfs.ext4";
    static final String PARTIAL = "rootfs.ext4.partial";
    static final String LOG_FILE = "build.log";
    static final String DELETING = ".deleting-";
    static final String INTERRUPTED = "interrupted: the engine stopped during the build";
    /** What the guest folder may call a built-in template: what a sandbox spec may name. */
    static final Pattern BUILT_IN_NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");
    /** A failed build's message: the reason, then this many characters of each log line at most. */
    static final int MAX_REASON_CHARS = 2000;
    static final int MAX_TAIL_LINE_CHARS = 500;
    /** How long {@link #close} waits for interrupted builds to record their end. */
    static final Duration CLOSE_WAIT = Duration.ofSeconds(10);

    private final Path guestDir;
    private final Path imagesDir;
    private final Clock clock;
    private final Object lock = new Object();
    /** Custom templates by name, as their records say (the disk is the truth; this mirrors it). */
    private final Map<String, TemplateRecord> custom = new ConcurrentHashMap<>();
    /** Builds running: name to thread, and name to the base it builds from (which may not go meanwhile). */
    private final Map<String, Thread> builds = new ConcurrentHashMap<>();
    private final Map<String, String> buildBases = new ConcurrentHashMap<>();
    private boolean closed;

    /**
     * Opens the catalog: {@code imagesDir} is made if missing; builds a dead process left BUILDING become FAILED,
     * deletions it left halfway are finished. The engine passes {@code <dataDir>/.images}.
     */
    public TemplateCatalog(Path guestDir, Path imagesDir) {
        this(guestDir, imagesDir, Clock.systemUTC());
    }

    TemplateCatalog(Path guestDir, Path imagesDir, Clock clock) {
        this.guestDir = Objects.requireNonNull(guestDir, "guestDir");
        this.imagesDir = Objects.requireNonNull(imagesDir, "imagesDir");
        this.clock = Objects.requireNonNull(clock, "clock");
        try {
            Files.createDirectories(imagesDir);
            recover();
        } catch (IOException e) {
            throw new EngineException(EngineException.Kind.CONFIG, "cannot open the template folder " + imagesDir
                    + ": " + e.getMessage(), e);
        }
    }

    // ---- reading ---------------------------------------------------------------------------------------------

    /** Every template, built-in and custom, by name. A custom one a built-in of its name came to hide is left out. */
    public List<TemplateInfo> list() {
        Map<String, TemplateInfo> all = new TreeMap<>();
        custom.values().forEach(r -> all.put(r.name(), r.info()));
        all.putAll(builtIns());
        return List.copyOf(all.values());
    }

    public Optional<TemplateInfo> find(String name) {
        Optional<TemplateInfo> builtIn = builtIn(name);
        if (builtIn.isPresent()) {
            return builtIn;
        }
        return Optional.ofNullable(custom.get(name)).map(TemplateRecord::info);
    }

    /**
     * What to boot for template {@code name}. INVALID_SPEC for an unknown one; INVALID_STATE for one still building
     * or whose build failed.
     */
    public TemplateSource resolve(String name) {
        Optional<TemplateInfo> builtIn = builtIn(name);
        if (builtIn.isPresent()) {
            TemplateInfo t = builtIn.get();
            return t.kind() == TemplateInfo.Kind.INITRAMFS ? new TemplateSource.Initramfs(initramfs(name))
                    : new TemplateSource.Disk(disk(name), t.sizeBytes());
        }
        TemplateRecord rec = custom.get(name);
        if (rec == null) {
            throw new EngineException(EngineException.Kind.INVALID_SPEC, "unknown template '" + name + "'");
        }
        return switch (rec.status()) {
            case READY -> new TemplateSource.Disk(imagesDir.resolve(name).resolve(IMAGE), rec.sizeBytes());
            case BUILDING -> throw new EngineException(EngineException.Kind.INVALID_STATE, "template " + name
                    + " is still building: wait until it is ready");
            case FAILED -> throw new EngineException(EngineException.Kind.INVALID_STATE, "template " + name
                    + " failed to build (delete it and build it again): " + firstLine(rec.message()));
        };
    }

    // ---- building --------------------------------------------------------------------------------------------

    /**
     * Starts building {@code recipe} with {@code runner} on a virtual thread and returns the template BUILDING, its
     * record already on disk. INVALID_SPEC for a bad recipe (see {@link RecipeRules}) or a base that is not a
     * READY disk template; INVALID_STATE for a name taken by a built-in or custom template, or a closed catalog.
     */
    public TemplateInfo start(TemplateRecipe recipe, BuildRunner runner) {
        Objects.requireNonNull(runner, "runner");
        RecipeRules.check(recipe);
        String name = recipe.name();
        synchronized (lock) {
            if (closed) {
                throw new EngineException(EngineException.Kind.INVALID_STATE, "the engine is closing");
            }
            if (builtIn(name).isPresent() || custom.containsKey(name)) {
                throw new EngineException(EngineException.Kind.INVALID_STATE, "template " + name + " exists");
            }
            TemplateSource.Disk base = baseDisk(recipe.base());
            Path dir = imagesDir.resolve(name);
            TemplateRecord rec = TemplateRecord.building(name, recipe.base(), now());
            try {
                DurableFiles.deleteTree(dir);  // not a template (no record): what a failed start left
                Files.createDirectory(dir);
                rec.write(dir);
                DurableFiles.syncDirectory(imagesDir);
            } catch (IOException e) {
                try {
                    DurableFiles.deleteTree(dir);
                } catch (IOException cleanup) {
                    e.addSuppressed(cleanup);
                }
                throw new EngineException(EngineException.Kind.CONFIG, "cannot record template " + name + " in "
                        + imagesDir + ": " + e.getMessage(), e);
            }
            custom.put(name, rec);
            buildBases.put(name, recipe.base());
            Thread thread = Thread.ofVirtual().name("template-build-" + name)
                    .unstarted(() -> build(rec, recipe, base, runner));
            builds.put(name, thread);
            thread.start();
            return rec.info();
        }
    }

    private TemplateSource.Disk baseDisk(String base) {
        TemplateInfo info = find(base).orElseThrow(() -> new EngineException(EngineException.Kind.INVALID_SPEC,
                "base: unknown template '" + base + "'"));
        if (info.kind() != TemplateInfo.Kind.DISK) {
            throw new EngineException(EngineException.Kind.INVALID_SPEC, "base: template " + base + " is an "
                    + "initramfs; a custom template is built from a disk template");
        }
        if (info.status() != TemplateInfo.Status.READY) {
            throw new EngineException(EngineException.Kind.INVALID_SPEC, "base: template " + base + " is "
                    + info.status().name().toLowerCase(Locale.ROOT) + ", not ready");
        }
        return (TemplateSource.Disk) resolve(base);
    }

    private void build(TemplateRecord rec, TemplateRecipe recipe, TemplateSource.Disk base, BuildRunner runner) {
        Path dir = imagesDir.resolve(rec.name());
        Path partial = dir.resolve(PARTIAL);
        BuildLog log = null;
        Throwable failure;
        try {
            log = BuildLog.open(dir.resolve(LOG_FILE));
            log.line("building template " + rec.name() + " from " + rec.base() + ": " + recipe.packages().size()
                    + " packages, " + recipe.run().size() + " steps");
            runner.build(recipe, base, partial, log);
            if (!Files.isRegularFile(partial, LinkOption.NOFOLLOW_LINKS)) {
                throw new IllegalStateException("the build ended without making an image");
            }
            DurableFiles.sync(partial);
            long size = Files.size(partial);
            commit(rec, dir, size);
            log.line("ready: " + size + " bytes");
            log.close();
            return;
        } catch (Throwable e) {
            failure = e;
        }
        String reason = reason(failure);
        List<String> tail = List.of();
        if (log != null) {
            tail = log.tail();
            log.line("failed: " + reason);
            log.close();
        }
        fail(rec, dir, failureMessage(reason, tail));
        if (failure instanceof Error error) {
            throw error;  // recorded as a failure; the JVM's own trouble still reaches the thread's handler
        }
    }

    private String reason(Throwable e) {
        boolean closing;
        synchronized (lock) {
            closing = closed;
        }
        if (closing && (e instanceof InterruptedException || Thread.currentThread().isInterrupted())) {
            return INTERRUPTED;
        }
        return e.getMessage() == null || e.getMessage().isBlank() ? e.toString() : e.getMessage();
    }

    /** The image into place, then the READY record: a crash between them leaves BUILDING, which recovery fails. */
    private void commit(TemplateRecord rec, Path dir, long size) throws IOException {
        synchronized (lock) {
            Files.move(dir.resolve(PARTIAL), dir.resolve(IMAGE), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
            DurableFiles.syncDirectory(dir);
            TemplateRecord ready = rec.ready(size, now());
            ready.write(dir);
            custom.put(rec.name(), ready);
            finished(rec.name());
        }
    }

    private void fail(TemplateRecord rec, Path dir, String message) {
        synchronized (lock) {
            TemplateRecord failed = rec.failed(message);
            quietly("removing the images of failed template " + rec.name(), () -> removeImages(dir));
            try {
                failed.write(dir);
            } catch (IOException e) {
                // the record still says BUILDING: the next catalog marks it failed (interrupted)
                LOG.log(System.Logger.Level.WARNING, "recording the failed build of template " + rec.name(), e);
            }
            custom.put(rec.name(), failed);
            finished(rec.name());
        }
    }

    private void finished(String name) {
        builds.remove(name);
        buildBases.remove(name);
    }

    // ---- deleting --------------------------------------------------------------------------------------------

    /**
     * Removes custom template {@code name} and its files. INVALID_SPEC for an unknown name; INVALID_STATE for a
     * built-in one, one building, the base of a build in progress, or one {@code inUse} says sandboxes use (it is
     * asked under the catalog's lock: it must not call back into {@link #start} or {@link #delete}).
     */
    public void delete(String name, Predicate<String> inUse) {
        Path gone;
        synchronized (lock) {
            if (builtIn(name).isPresent()) {
                throw new EngineException(EngineException.Kind.INVALID_STATE, "template " + name
                        + " is built-in: it cannot be deleted");
            }
            TemplateRecord rec = custom.get(name);
            if (rec == null) {
                throw new EngineException(EngineException.Kind.INVALID_SPEC, "unknown template '" + name + "'");
            }
            if (rec.status() == TemplateInfo.Status.BUILDING) {
                throw new EngineException(EngineException.Kind.INVALID_STATE, "template " + name
                        + " is building: delete it once its build has ended");
            }
            Optional<String> child = buildBases.entrySet().stream().filter(e -> e.getValue().equals(name))
                    .map(Map.Entry::getKey).findFirst();
            if (child.isPresent()) {
                throw new EngineException(EngineException.Kind.INVALID_STATE, "template " + name
                        + " is the base of template " + child.get() + ", which is building");
            }
            if (inUse.test(name)) {
                throw new EngineException(EngineException.Kind.INVALID_STATE, "template " + name
                        + " is used by sandboxes (running or paused): destroy them first");
            }
            gone = imagesDir.resolve(DELETING + name + "-" + System.nanoTime());
            try {
                Files.move(imagesDir.resolve(name), gone, StandardCopyOption.ATOMIC_MOVE);
                DurableFiles.syncDirectory(imagesDir);
            } catch (IOException e) {
                throw new EngineException(EngineException.Kind.CONFIG, "cannot delete template " + name + ": "
                        + e.getMessage(), e);
            }
            custom.remove(name);
        }
        try {
            DurableFiles.deleteTree(gone);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "removing the files of deleted template " + name + " (the next"
                    + " start tries again)", e);
        }
    }

    /**
     * Interrupts the builds still running and waits a while ({@link #CLOSE_WAIT}) for them to record their end
     * (FAILED, {@value #INTERRUPTED}); one that takes longer stays BUILDING on disk, which the next catalog fails.
     * Later starts are refused.
     */
    @Override
    public void close() {
        List<Thread> running;
        synchronized (lock) {
            closed = true;
            running = List.copyOf(builds.values());
        }
        running.forEach(Thread::interrupt);
        long deadline = System.nanoTime() + CLOSE_WAIT.toNanos();
        for (Thread t : running) {
            try {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !t.join(Duration.ofNanos(left))) {
                    LOG.log(System.Logger.Level.WARNING, "template build " + t.getName() + " did not stop in time");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    // ---- built-ins -------------------------------------------------------------------------------------------

    private Path initramfs(String name) {
        return guestDir.resolve(name + INITRAMFS_SUFFIX);
    }

    private Path disk(String name) {
        return guestDir.resolve(name + DISK_SUFFIX);
    }

    private Optional<TemplateInfo> builtIn(String name) {
        if (!BUILT_IN_NAME.matcher(name).matches()) {
            return Optional.empty();
        }
        return builtIn(name, TemplateInfo.Kind.INITRAMFS, initramfs(name))
                .or(() -> builtIn(name, TemplateInfo.Kind.DISK, disk(name)));
    }

    /** The built-in template in {@code file} (symlinks followed), if it is a regular file. */
    private static Optional<TemplateInfo> builtIn(String name, TemplateInfo.Kind kind, Path file) {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            if (!a.isRegularFile()) {
                return Optional.empty();
            }
            return Optional.of(new TemplateInfo(name, kind, TemplateInfo.Status.READY, true, a.size(),
                    a.lastModifiedTime().toInstant().truncatedTo(ChronoUnit.MILLIS), null, null));
        } catch (IOException e) {
            return Optional.empty();  // absent, or a dangling link
        }
    }

    private Map<String, TemplateInfo> builtIns() {
        Map<String, TemplateInfo> out = new TreeMap<>();
        if (!Files.isDirectory(guestDir)) {
            return out;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(guestDir)) {
            for (Path p : files) {
                String file = p.getFileName().toString();
                String name = file.endsWith(INITRAMFS_SUFFIX) ? strip(file, INITRAMFS_SUFFIX)
                        : file.endsWith(DISK_SUFFIX) ? strip(file, DISK_SUFFIX) : null;
                if (name != null && !out.containsKey(name)) {
                    builtIn(name).ifPresent(t -> out.put(name, t));
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "listing the guest folder " + guestDir, e);
        }
        return out;
    }

    private static String strip(String file, String suffix) {
        return file.substring(0, file.length() - suffix.length());
    }

    // ---- recovery --------------------------------------------------------------------------------------------

    private void recover() throws IOException {
        List<Path> entries;
        try (var s = Files.list(imagesDir)) {
            entries = s.sorted(Comparator.comparing(Path::toString)).toList();
        }
        for (Path entry : entries) {
            String file = entry.getFileName().toString();
            if (file.startsWith(DELETING)) {
                quietly("removing the rest of a deleted template", () -> DurableFiles.deleteTree(entry));
            } else if (RecipeRules.NAME.matcher(file).matches()
                    && Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
                recoverOne(file, entry);
            }
        }
    }

    private interface FileWork {
        void run() throws IOException;
    }

    /** Clean-up that may fail without harm: the next start tries again. */
    private static void quietly(String what, FileWork work) {
        try {
            work.run();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, what + " failed: " + e.getMessage());
        }
    }

    private void recoverOne(String name, Path dir) throws IOException {
        if (!Files.exists(dir.resolve(TemplateRecord.FILE))) {
            // a start that died before its record was on disk: it never answered, nothing was promised
            LOG.log(System.Logger.Level.INFO, "removing " + dir + ": a template folder without a record");
            quietly("removing " + dir, () -> DurableFiles.deleteTree(dir));
            return;
        }
        TemplateRecord rec;
        try {
            rec = TemplateRecord.read(dir);
            if (!rec.name().equals(name)) {
                throw new IllegalArgumentException("it names template " + rec.name());
            }
        } catch (IOException | IllegalArgumentException e) {
            LOG.log(System.Logger.Level.WARNING, "template record in " + dir + " is unreadable: " + e.getMessage());
            Instant when = Files.getLastModifiedTime(dir).toInstant().truncatedTo(ChronoUnit.MILLIS);
            custom.put(name, new TemplateRecord(name, TemplateInfo.Status.FAILED, null, when, 0,
                    "its record is unreadable (" + e.getMessage() + "): delete it"));
            return;
        }
        switch (rec.status()) {
            case BUILDING -> {
                quietly("removing the partial image in " + dir, () -> removeImages(dir));
                rec = rec.failed(failureMessage(INTERRUPTED, logTail(dir.resolve(LOG_FILE))));
                rewrite(dir, rec);
            }
            case READY -> {
                quietly("removing a stray partial image in " + dir,
                        () -> Files.deleteIfExists(dir.resolve(PARTIAL)));
                if (!Files.isRegularFile(dir.resolve(IMAGE), LinkOption.NOFOLLOW_LINKS)) {
                    rec = rec.failed("its image " + IMAGE + " is missing: delete it and build it again");
                    rewrite(dir, rec);
                }
            }
            case FAILED -> quietly("removing the images of failed template " + name, () -> removeImages(dir));
        }
        custom.put(name, rec);
    }

    private static void rewrite(Path dir, TemplateRecord rec) {
        try {
            rec.write(dir);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "rewriting the record in " + dir + " (kept in memory)", e);
        }
    }

    private static void removeImages(Path dir) throws IOException {
        Files.deleteIfExists(dir.resolve(PARTIAL));
        Files.deleteIfExists(dir.resolve(IMAGE));
    }

    /** The last lines of a build log on disk (what a dead process's build got to). */
    static List<String> logTail(Path log) {
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
            long from = Math.max(0, f.length() - 64 * 1024);
            byte[] bytes = new byte[(int) (f.length() - from)];
            f.seek(from);
            f.readFully(bytes);
            List<String> lines = new ArrayList<>(Arrays.asList(new String(bytes, StandardCharsets.UTF_8)
                    .split("\n")));
            if (from > 0 && !lines.isEmpty()) {
                lines.removeFirst();  // cut in the middle
            }
            return List.copyOf(lines.subList(Math.max(0, lines.size() - BuildLog.TAIL_LINES), lines.size()));
        } catch (IOException e) {
            return List.of();
        }
    }

    /** A failed build's message: why, then the last lines of its log. */
    static String failureMessage(String reason, List<String> tail) {
        StringBuilder b = new StringBuilder(cut(reason, MAX_REASON_CHARS));
        if (!tail.isEmpty()) {
            b.append("\n--- last lines of ").append(LOG_FILE).append(" ---");
            tail.forEach(line -> b.append('\n').append(cut(line, MAX_TAIL_LINE_CHARS)));
        }
        return b.toString();
    }

    private static String cut(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max) + "...";
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }
}
