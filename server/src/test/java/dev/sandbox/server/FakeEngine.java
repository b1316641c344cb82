package dev.sandbox.server;

import dev.sandbox.engine.Cidr;
import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.NetworkSpec;
import dev.sandbox.engine.Sandbox;
import dev.sandbox.engine.SandboxNetwork;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.engine.TemplateInfo;
import dev.sandbox.engine.TemplateRecipe;
import dev.sandbox.engine.agent.AgentException;
import dev.sandbox.engine.agent.DirEntry;
import dev.sandbox.engine.agent.DirListing;
import dev.sandbox.engine.agent.ExecExit;
import dev.sandbox.engine.agent.ExecListener;
import dev.sandbox.engine.agent.ExecRequest;
import dev.sandbox.engine.agent.ExecResult;
import dev.sandbox.engine.agent.ProcessInfo;
import dev.sandbox.engine.agent.ProcessOutput;
import dev.sandbox.engine.agent.ProcessSignal;
import dev.sandbox.engine.net.GuestNetLayout;
import dev.sandbox.engine.templates.BuildRunner;
import dev.sandbox.engine.templates.TemplateCatalog;
import dev.sandbox.engine.templates.TemplateSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * TEST DOUBLE, not a sandbox: an {@link Engine} whose "VMs" are folders on the host and whose execs are host
 * processes (ProcessBuilder, cwd = the folder). It exists so the server's handlers, routing, records and error
 * mapping can be tested without KVM. It isolates nothing. Guest paths map into the folder ("/a/b" → folder/a/b).
 * <p>
 * Behaves like the engine's contract: templates {@code minimal} and {@code python} (and ready custom ones) boot,
 * {@code broken} fails to boot (BOOT_FAILED), {@code linkage} throws a LinkageError (a JVM Error, not an exception),
 * an unknown one is INVALID_SPEC and one building or failed INVALID_STATE (the catalog's answers); exec/files on a
 * non-running sandbox are INVALID_STATE.
 * <p>
 * Snapshots as the real engine keeps them: a pause writes {@code .snapshots/<id>/manifest} (the spec), which stays
 * through resumes; closing a sandbox deletes it; closing the engine keeps paused ones, which a later engine on the
 * same folder takes back with {@link #recover}; {@link #snapshotsOnDisk} reads the manifests and
 * {@link #quarantineUnclaimed} moves unclaimed folders to {@code .snapshots/.quarantine/}.
 * <p>
 * A sandbox whose spec has a network reports one (guest address as the real guest's, host address
 * {@link #hostIp}, 127.0.0.1 unless a test changes it) while running or paused; its manifest keeps the policy.
 * <p>
 * Templates come from the engine's real {@link TemplateCatalog} over a fake guest folder ({@code .guest/}: the
 * initramfs templates {@code minimal}, {@code broken}, {@code linkage} and the disk template {@code python}, a
 * sparse {@link #PYTHON_IMAGE_BYTES} file) and {@code .images/}; builds run {@link #builder} (by default it writes
 * a small image at once; a test may block in it or throw). A template is in use while a sandbox of it is running or
 * paused.
 */
final class FakeEngine implements Engine {

    private final EngineConfig config;
    private final Map<String, FakeSandbox> sandboxes = new ConcurrentHashMap<>();
    private final TemplateCatalog catalog;

    static final long PYTHON_IMAGE_BYTES = 300L * 1024 * 1024;

    /** How builds run: by default a line in the log and a small image made at once. */
    volatile BuildRunner builder = (recipe, base, out, log) -> {
        log.line("fake build of " + recipe.name() + ": " + recipe.packages() + " " + recipe.run());
        Files.writeString(out, "fake image of " + recipe.name());
    };
    /** The last recipe the server asked to build. */
    volatile TemplateRecipe lastRecipe;

    /**
     * Called at the start of every exec, writeFile, readFile, directory call ("exec", "write", "read", "list",
     * "mkdir", "remove"), process call ("process-start", "process-list", "process-signal", "process-read") and
     * pause ("pause"), on the caller's thread: a test blocks there to hold a call in
     * flight, or throws to fail it.
     */
    interface Hook {
        void at(String id, String call) throws InterruptedException;
    }

    private volatile Hook hook = (id, call) -> { };
    /** The deadline the server gave the last transfer with one. */
    volatile Duration lastTransferTimeout;
    /** The last exec request the server made, as the engine got it. */
    volatile ExecRequest lastExec;

    /**
     * The host address of every fake sandbox with a network: loopback, so a test's own HTTP server on 127.0.0.1
     * stands in for what runs in the guest.
     */
    volatile String hostIp = "127.0.0.1";

    /** Directory calls fail as with an agent from before protocol version 2. */
    volatile boolean unsupportedDirs;
    /** Process calls fail as with an agent from before protocol version 3. */
    volatile boolean unsupportedProcesses;
    /** Background processes running at once per sandbox (the agent's 64), and bytes kept per stream (1 MiB). */
    volatile int maxProcesses = 64;
    volatile int processBuffer = 1024 * 1024;

    void hook(Hook hook) {
        this.hook = hook;
    }

    private void hook(String id, String call) {
        try {
            hook.at(id, call);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AgentException(AgentException.Kind.INTERRUPTED, "interrupted");
        }
    }

    /** What the server configured as warm pool, and its gate (the pool itself is the engine's: KvmPoolTest). */
    final Map<dev.sandbox.engine.PoolShape, Integer> poolSizes = new java.util.concurrent.ConcurrentHashMap<>();
    volatile dev.sandbox.engine.PoolGate poolGate = dev.sandbox.engine.PoolGate.OPEN;

    @Override
    public void configurePool(dev.sandbox.engine.PoolShape shape, int size, java.time.Duration idle) {
        poolSizes.put(shape, size);
    }

    @Override
    public void poolGate(dev.sandbox.engine.PoolGate gate) {
        poolGate = gate;
    }

    FakeEngine(Path dir) {
        this.config = EngineConfig.defaults(dir, dir);
        try {
            Path guest = Files.createDirectories(dir.resolve(".guest"));
            for (String name : List.of("minimal", "broken", "linkage")) {
                Files.writeString(guest.resolve(name + TemplateCatalog.INITRAMFS_SUFFIX), "fake initramfs");
            }
            try (var image = new java.io.RandomAccessFile(guest.resolve("python.ext4").toFile(), "rw")) {
                image.setLength(PYTHON_IMAGE_BYTES);  // sparse
            }
            this.catalog = new TemplateCatalog(guest, dir.resolve(".images"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public List<TemplateInfo> templates() {
        return catalog.list();
    }

    @Override
    public Optional<TemplateInfo> template(String name) {
        return catalog.find(name);
    }

    @Override
    public TemplateInfo buildTemplate(TemplateRecipe recipe) {
        lastRecipe = recipe;
        return catalog.start(recipe, (r, base, out, log) -> builder.build(r, base, out, log));
    }

    @Override
    public void deleteTemplate(String name) {
        catalog.delete(name, t -> sandboxes.values().stream().anyMatch(sb -> sb.spec.template().equals(t)
                && (sb.state == Sandbox.State.RUNNING || sb.state == Sandbox.State.PAUSED)));
    }

    Path snapshotDir(String id) {
        return config.dataDir().resolve(".snapshots").resolve(id);
    }

    @Override
    public Optional<Sandbox> recover(SandboxSpec spec) {
        if (spec.template().equals("broken")) {
            throw new EngineException(EngineException.Kind.INVALID_SPEC, "cannot take back (fake): broken");
        }
        if (!Files.exists(snapshotDir(spec.id()).resolve("manifest")) || sandboxes.containsKey(spec.id())) {
            return Optional.empty();
        }
        FakeSandbox sb = new FakeSandbox(spec, config.dataDir().resolve(spec.id()));
        sb.state = Sandbox.State.PAUSED;
        sandboxes.put(spec.id(), sb);
        return Optional.of(sb);
    }

    @Override
    public List<SandboxSpec> snapshotsOnDisk() {
        List<SandboxSpec> specs = new ArrayList<>();
        for (String id : snapshotIds()) {
            try {
                Map<String, String> f = new java.util.HashMap<>();
                for (String line : Files.readAllLines(snapshotDir(id).resolve("manifest"))) {
                    int eq = line.indexOf('=');
                    f.put(line.substring(0, eq), line.substring(eq + 1));
                }
                specs.add(new SandboxSpec(f.get("id"), f.get("template"), Integer.parseInt(f.get("vcpus")),
                        Integer.parseInt(f.get("memory_mb")), network(f),
                        Integer.parseInt(f.getOrDefault("disk_mb", "0"))));
            } catch (IOException | RuntimeException e) {
                // no readable manifest: left out, as the real engine does
            }
        }
        return specs;
    }

    /** The manifest's network lines: none without {@code internet}. */
    private static NetworkSpec network(Map<String, String> f) {
        if (!f.containsKey("internet")) {
            return null;
        }
        return new NetworkSpec(Boolean.parseBoolean(f.get("internet")), cidrs(f.get("allow_out")),
                cidrs(f.get("deny_out")));
    }

    private static List<Cidr> cidrs(String list) {
        return list == null || list.isEmpty() ? List.of()
                : java.util.Arrays.stream(list.split(",")).map(Cidr::parse).toList();
    }

    private static String manifestNetwork(NetworkSpec n) {
        if (n == null) {
            return "";
        }
        return "internet=" + n.internet() + "\nallow_out=" + join(n.allowOut()) + "\ndeny_out=" + join(n.denyOut())
                + "\n";
    }

    private static String join(List<Cidr> cidrs) {
        return String.join(",", cidrs.stream().map(Cidr::toString).toList());
    }

    @Override
    public List<String> quarantineUnclaimed() {
        List<String> moved = new ArrayList<>();
        for (String id : snapshotIds()) {
            if (!sandboxes.containsKey(id)) {
                try {
                    Path q = Files.createDirectories(config.dataDir().resolve(".snapshots/.quarantine"));
                    Files.move(snapshotDir(id), q.resolve(id + "-" + System.nanoTime()));
                    moved.add(id);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        return moved;
    }

    private List<String> snapshotIds() {
        Path dir = config.dataDir().resolve(".snapshots");
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteTree(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (var s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public EngineConfig config() {
        return config;
    }

    @Override
    public Sandbox create(SandboxSpec spec) {
        TemplateSource source = catalog.resolve(spec.template());  // INVALID_SPEC or INVALID_STATE, as the engine
        switch (spec.template()) {
            case "broken" -> throw new EngineException(EngineException.Kind.BOOT_FAILED,
                    "guest did not boot (fake): kernel panic");
            case "linkage" -> throw new LinkageError("fake: a class failed to load");
            default -> { }
        }
        if (spec.diskMb() > 0 && !(source instanceof TemplateSource.Disk)) {
            throw new EngineException(EngineException.Kind.INVALID_SPEC, "diskMb is for disk templates");
        }
        try {
            Path root = Files.createDirectories(config.dataDir().resolve(spec.id()));
            FakeSandbox sb = new FakeSandbox(spec, root);
            sandboxes.put(spec.id(), sb);
            return sb;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public Map<String, Long> vmExits() {
        return vmExits;
    }

    /** What {@link #vmExits()} answers: none by default, as an engine without vCPUs. */
    volatile Map<String, Long> vmExits = Map.of();

    @Override
    public Optional<Sandbox> find(String id) {
        return Optional.ofNullable(sandboxes.get(id));
    }

    @Override
    public Collection<Sandbox> sandboxes() {
        return List.copyOf(sandboxes.values());
    }

    /** Simulates a VM dying on its own (a triple fault): calls in flight fail as their connection drops. */
    void crash(String id) {
        FakeSandbox sb = sandboxes.get(id);
        sb.failure = "the guest crashed (fake): triple fault";
        sb.state = Sandbox.State.FAILED;
        sb.life.incrementAndGet();
    }

    /** Running ones stop (their snapshots go); paused ones stay on disk for a later engine. */
    @Override
    public void close() {
        catalog.close();
        new ArrayList<>(sandboxes.values()).stream().filter(s -> s.state != Sandbox.State.PAUSED)
                .forEach(FakeSandbox::close);
        sandboxes.clear();
    }

    private final class FakeSandbox implements Sandbox {
        private final SandboxSpec spec;
        private final Path root;
        private volatile State state = State.RUNNING;
        /** Moves on each pause and close: a call that began in another life fails as the real agent's does. */
        private final java.util.concurrent.atomic.AtomicLong life = new java.util.concurrent.atomic.AtomicLong();
        private volatile String failure;
        private FakeProcesses processes; // made at the first start: the engine's limits may change before
        /** The manifest's size after a pause: the fake's snapshot. */
        private volatile long snapshotBytes = -1;
        /** Commands running now: a pause or close kills them, as dropping the agent connection does. */
        private final java.util.Set<Process> running = ConcurrentHashMap.newKeySet();

        /** Like the agent connection dropped under a call: CLOSED if a pause or close ran since it began. */
        private void sameLife(long began) {
            if (life.get() != began) {
                throw new AgentException(AgentException.Kind.CLOSED, "client closed");
            }
        }

        /** Enters a call: runs the hook, then fails the call if its sandbox was paused or closed meanwhile. */
        private void enter(String call) {
            requireRunning();
            long began = life.get();
            hook(spec.id(), call);
            sameLife(began);
            requireRunning();
        }

        @Override
        public Optional<String> failure() {
            return state == State.FAILED ? Optional.ofNullable(failure) : Optional.empty();
        }

        FakeSandbox(SandboxSpec spec, Path root) {
            this.spec = spec;
            this.root = root;
        }

        @Override
        public String id() {
            return spec.id();
        }

        @Override
        public SandboxSpec spec() {
            return spec;
        }

        @Override
        public State state() {
            return state;
        }

        /** With a network in its spec: the guest's usual address, the host side at {@link #hostIp}. */
        @Override
        public Optional<SandboxNetwork> network() {
            return spec.network() == null || state == State.STOPPED ? Optional.empty()
                    : Optional.of(new SandboxNetwork(GuestNetLayout.GUEST_IP, hostIp, spec.network()));
        }

        private void requireRunning() {
            if (state != State.RUNNING) {
                throw new EngineException(EngineException.Kind.INVALID_STATE, "sandbox is " + state);
            }
        }

        private Path resolve(String guestPath) {
            Path p = root.resolve(guestPath.substring(1)).normalize();
            if (!p.startsWith(root)) {
                throw new AgentException(AgentException.Kind.INVALID, "path escapes the sandbox");
            }
            return p;
        }

        @Override
        public ExecResult exec(ExecRequest request) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            ExecExit x = exec(request, new ExecListener() {
                @Override
                public synchronized void stdout(byte[] chunk) {
                    out.writeBytes(chunk);
                }

                @Override
                public synchronized void stderr(byte[] chunk) {
                    err.writeBytes(chunk);
                }
            });
            return new ExecResult(out.toByteArray(), err.toByteArray(), x.exitCode(), x.signal(), x.timedOut(),
                    x.stdoutTruncated(), x.stderrTruncated(), x.duration());
        }

        /**
         * Like the agent: env added to this process's environment, cwd mapped into the folder (missing: NOT_FOUND,
         * as the agent's ERROR), stdin written then closed, output handed over as it comes (each stream on its own
         * thread here, one chunk at a time), the process killed on timeout or when the calling thread is
         * interrupted (the engine's cancel).
         */
        @Override
        public ExecExit exec(ExecRequest request, ExecListener listener) {
            long began = life.get();
            enter("exec");
            lastExec = request;
            Path dir = request.cwd() == null ? root : resolve(request.cwd());
            if (!Files.isDirectory(dir)) {
                throw new AgentException(Files.exists(dir) ? AgentException.Kind.INVALID : AgentException.Kind.NOT_FOUND,
                        "working directory: " + (Files.exists(dir) ? "Not a directory" : "No such file or directory"));
            }
            List<String> command = new ArrayList<>();
            command.add(request.cmd());
            command.addAll(request.args());
            long start = System.nanoTime();
            ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile());
            pb.environment().putAll(request.env());
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                // like execve's ENOENT: the agent reports exit 127
                listener.stderr(("not found: " + request.cmd()).getBytes());
                return new ExecExit(127, 0, false, false, false, Duration.ofNanos(System.nanoTime() - start));
            }
            running.add(p);
            if (life.get() != began) {  // paused or closed while it started
                kill(p);
            }
            Thread feeder = Thread.ofVirtual().start(() -> {
                try (OutputStream in = p.getOutputStream()) {
                    in.write(request.stdin());
                } catch (IOException ignored) {
                    // the command did not read it all
                }
            });
            Pump out = new Pump(p, p.getInputStream(), request.stdoutCap(), listener::stdout);
            Pump err = new Pump(p, p.getErrorStream(), request.stderrCap(), listener::stderr);
            boolean timedOut;
            try {
                timedOut = !p.waitFor(request.timeout().toMillis(), TimeUnit.MILLISECONDS);
                if (timedOut) {
                    kill(p);
                }
                out.thread.join(5000);
                err.thread.join(5000);
            } catch (InterruptedException e) {
                kill(p);
                Thread.currentThread().interrupt();
                throw new AgentException(AgentException.Kind.INTERRUPTED, "interrupted");
            } finally {
                feeder.interrupt();
                running.remove(p);
            }
            sameLife(began);
            if (out.failure != null || err.failure != null) {  // the listener refused (the real client cancels)
                kill(p);
                RuntimeException f = out.failure != null ? out.failure : err.failure;
                throw new AgentException(AgentException.Kind.IO, "consumer failed: " + f, f);
            }
            return new ExecExit(p.exitValue(), 0, timedOut, out.truncated, err.truncated,
                    Duration.ofNanos(System.nanoTime() - start));
        }

        private static void kill(Process p) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            try {
                p.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void writeFile(String path, InputStream content, int mode) {
            enter("write");
            Path target = resolve(path);
            try {
                Files.createDirectories(target.getParent());
                if (Files.isDirectory(target)) {
                    throw new AgentException(AgentException.Kind.IS_DIRECTORY, path);
                }
                Path tmp = Files.createTempFile(target.getParent(), ".upload", "");
                try {
                    Files.copy(content, tmp, StandardCopyOption.REPLACE_EXISTING);
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } finally {
                    Files.deleteIfExists(tmp);
                }
            } catch (IOException e) {
                throw new AgentException(AgentException.Kind.IO, e.getMessage(), e);
            }
        }

        @Override
        public void writeFile(String path, InputStream content, int mode, Duration timeout) {
            lastTransferTimeout = timeout;
            writeFile(path, content, mode);
        }

        @Override
        public long readFile(String path, OutputStream out, long maxBytes, Duration timeout) {
            lastTransferTimeout = timeout;
            return readFile(path, out, maxBytes);
        }

        @Override
        public long readFile(String path, OutputStream out, long maxBytes) {
            enter("read");
            Path source = resolve(path);
            if (!Files.exists(source)) {
                throw new AgentException(AgentException.Kind.NOT_FOUND, path);
            }
            if (Files.isDirectory(source)) {
                throw new AgentException(AgentException.Kind.IS_DIRECTORY, path);
            }
            try {
                if (Files.size(source) > maxBytes) {
                    throw new AgentException(AgentException.Kind.TOO_LARGE, path);
                }
                return Files.copy(source, out);
            } catch (IOException e) {
                throw new AgentException(AgentException.Kind.IO, e.getMessage(), e);
            }
        }

        /** Directory calls run the hook as "list", "mkdir" and "remove"; {@link #unsupportedDirs} fails them. */
        @Override
        public DirListing listDirectory(String path, int maxEntries) {
            enterDirs("list");
            Path dir = resolve(path);
            if (!Files.exists(dir)) {
                throw new AgentException(AgentException.Kind.NOT_FOUND, "list " + path);
            }
            if (!Files.isDirectory(dir)) {
                throw new AgentException(AgentException.Kind.NOT_DIRECTORY, "list " + path);
            }
            List<DirEntry> entries = new ArrayList<>();
            boolean truncated = false;
            try (var names = Files.list(dir)) {
                for (Path p : (Iterable<Path>) names::iterator) {
                    if (entries.size() == maxEntries) {
                        truncated = true;
                        break;
                    }
                    var a = Files.readAttributes(p, java.nio.file.attribute.PosixFileAttributes.class,
                            java.nio.file.LinkOption.NOFOLLOW_LINKS);
                    DirEntry.Type type = a.isSymbolicLink() ? DirEntry.Type.SYMLINK : a.isDirectory()
                            ? DirEntry.Type.DIRECTORY : a.isRegularFile() ? DirEntry.Type.FILE : DirEntry.Type.OTHER;
                    int mode = 0;
                    for (var perm : a.permissions()) {
                        mode |= 0400 >> perm.ordinal();  // PosixFilePermission is declared OWNER_READ .. OTHERS_EXECUTE
                    }
                    entries.add(new DirEntry(p.getFileName().toString(), type, mode, a.size(),
                            a.lastModifiedTime().toInstant()));
                }
            } catch (IOException e) {
                throw new AgentException(AgentException.Kind.IO, e.getMessage(), e);
            }
            return new DirListing(path, entries, truncated);
        }

        @Override
        public boolean makeDirectory(String path, int mode) {
            enterDirs("mkdir");
            Path dir = resolve(path);
            if (dir.equals(root)) {
                throw new AgentException(AgentException.Kind.INVALID, "mkdir /");
            }
            if (Files.isDirectory(dir)) {
                return false;
            }
            for (Path p = dir; !p.equals(root); p = p.getParent()) {  // as the agent: a file in the way is EXISTS
                if (Files.exists(p) && !Files.isDirectory(p)) {
                    throw new AgentException(AgentException.Kind.EXISTS, "mkdir " + path + ": "
                            + root.relativize(p) + " exists and is not a directory");
                }
            }
            try {
                Files.createDirectories(dir);
                return true;
            } catch (java.nio.file.FileAlreadyExistsException e) {
                throw new AgentException(AgentException.Kind.EXISTS, "mkdir " + path + ": exists, not a directory");
            } catch (IOException e) {
                throw new AgentException(AgentException.Kind.IO, e.getMessage(), e);
            }
        }

        @Override
        public long remove(String path, boolean recursive) {
            enterDirs("remove");
            Path target = resolve(path);
            if (target.equals(root)) {
                throw new AgentException(AgentException.Kind.INVALID, "refusing to remove /");
            }
            if (!Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                throw new AgentException(AgentException.Kind.NOT_FOUND, "remove " + path);
            }
            try {
                if (Files.isDirectory(target, java.nio.file.LinkOption.NOFOLLOW_LINKS) && !recursive) {
                    try (var names = Files.list(target)) {
                        if (names.findAny().isPresent()) {
                            throw new AgentException(AgentException.Kind.NOT_EMPTY, "remove " + path);
                        }
                    }
                }
                long[] removed = {0};
                // walkFileTree follows no symlink unless told to
                Files.walkFileTree(target, new java.nio.file.SimpleFileVisitor<>() {
                    @Override
                    public java.nio.file.FileVisitResult visitFile(Path f, java.nio.file.attribute.BasicFileAttributes a)
                            throws IOException {
                        Files.delete(f);
                        removed[0]++;
                        return java.nio.file.FileVisitResult.CONTINUE;
                    }

                    @Override
                    public java.nio.file.FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                        Files.delete(d);
                        removed[0]++;
                        return java.nio.file.FileVisitResult.CONTINUE;
                    }
                });
                return removed[0];
            } catch (IOException e) {
                throw new AgentException(AgentException.Kind.IO, e.getMessage(), e);
            }
        }

        private void enterDirs(String call) {
            enter(call);
            if (unsupportedDirs) {
                throw new AgentException(AgentException.Kind.UNSUPPORTED, call
                        + ": the guest agent speaks protocol version 1; directory calls need version 2");
            }
        }

        /** Background processes: host processes that live through pause/resume, as the guest's do. */
        private FakeProcesses processes(String call) {
            enter(call);
            if (unsupportedProcesses) {
                throw new AgentException(AgentException.Kind.UNSUPPORTED, call
                        + ": the guest agent speaks protocol version 2; background processes need version 3");
            }
            synchronized (this) {
                if (processes == null) {
                    processes = new FakeProcesses(root, maxProcesses, processBuffer);
                }
                return processes;
            }
        }

        @Override
        public ProcessInfo startProcess(String cmd, List<String> args, Map<String, String> env, String cwd) {
            FakeProcesses procs = processes("process-start");
            Path dir = cwd == null ? root : resolve(cwd);
            if (!Files.isDirectory(dir)) {  // as the agent's procs_start: refused before anything runs
                throw new AgentException(AgentException.Kind.NOT_FOUND, "working directory: No such directory");
            }
            return procs.start(cmd, args, env, dir);
        }

        @Override
        public List<ProcessInfo> listProcesses() {
            return processes("process-list").list();
        }

        @Override
        public boolean signalProcess(int pid, ProcessSignal signal) {
            return processes("process-signal").signal(pid, signal);
        }

        @Override
        public ProcessOutput readProcessOutput(int pid, long stdoutOffset, long stderrOffset, int maxBytes,
                                               Duration wait) {
            long began = life.get();
            ProcessOutput o = processes("process-read").read(pid, stdoutOffset, stderrOffset, maxBytes, wait);
            sameLife(began); // a pause during the wait drops the call, as the real connection does
            return o;
        }

        @Override
        public java.util.OptionalLong lastSnapshotBytes() {
            return snapshotBytes < 0 ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(snapshotBytes);
        }

        private void killRunning() {
            running.forEach(FakeSandbox::kill);
        }

        @Override
        public void pause() {
            requireRunning();
            life.incrementAndGet();  // the real pause drops the agent connection first
            killRunning();
            hook(spec.id(), "pause");
            try {
                Path dir = Files.createDirectories(snapshotDir(spec.id()));
                Files.writeString(dir.resolve("manifest"), "id=" + spec.id() + "\ntemplate=" + spec.template()
                        + "\nvcpus=" + spec.vcpus() + "\nmemory_mb=" + spec.memoryMb() + "\ndisk_mb=" + spec.diskMb()
                        + "\nstate=paused\n"
                        + manifestNetwork(spec.network()));
                snapshotBytes = Files.size(dir.resolve("manifest"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            state = State.PAUSED;
        }

        @Override
        public void resume() {
            if (state != State.PAUSED) {
                throw new EngineException(EngineException.Kind.INVALID_STATE, "sandbox is " + state);
            }
            state = State.RUNNING;
        }

        @Override
        public String consoleTail() {
            return "";
        }

        @Override
        public void close() {
            life.incrementAndGet();
            killRunning();
            state = State.STOPPED;
            synchronized (this) {
                if (processes != null) {
                    processes.close();
                }
            }
            sandboxes.remove(spec.id());
            deleteTree(snapshotDir(spec.id()));
            deleteTree(root);
        }
    }

    /** Reads one stream on its own thread, handing at most {@code cap} bytes to {@code sink} as they come. */
    private static final class Pump {
        private final Thread thread;
        private volatile boolean truncated;
        private volatile RuntimeException failure;

        Pump(Process p, InputStream in, int cap, java.util.function.Consumer<byte[]> sink) {
            thread = Thread.ofVirtual().start(() -> {
                byte[] buf = new byte[8192];
                long sent = 0;
                try (in) {
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        int keep = (int) Math.max(0, Math.min(cap - sent, n));
                        if (keep < n) {
                            truncated = true;
                        }
                        if (keep > 0 && failure == null) {
                            sink.accept(java.util.Arrays.copyOf(buf, keep));
                            sent += keep;
                        }
                    }
                } catch (IOException ignored) {
                    // the process was killed: keep what came
                } catch (RuntimeException e) {
                    failure = e;  // as the real agent is told to cancel: the command dies
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                }
            });
        }
    }
}
