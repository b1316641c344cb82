package dev.sandbox.server;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.NetworkSpec;
import dev.sandbox.engine.PoolGate;
import dev.sandbox.engine.PoolShape;
import dev.sandbox.engine.Sandbox;
import dev.sandbox.engine.SandboxNetwork;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.engine.TemplateInfo;
import dev.sandbox.engine.agent.AgentException;
import dev.sandbox.engine.agent.DirListing;
import dev.sandbox.engine.agent.ExecExit;
import dev.sandbox.engine.agent.ExecRequest;
import dev.sandbox.engine.agent.AgentCodec;
import dev.sandbox.engine.agent.ExecResult;
import dev.sandbox.engine.agent.ProcessInfo;
import dev.sandbox.engine.agent.ProcessOutput;
import dev.sandbox.engine.agent.ProcessSignal;
import dev.sandbox.server.SandboxRecord.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.InputStream;
import java.io.OutputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The sandbox lifecycle over the engine: records, states, limits, the idle reaper's work. HTTP-free.
 * <p>
 * Lifecycle operations (create, destroy, pause, resume, reaping) on one sandbox are serialised by a per-id lock;
 * execs and file transfers take no lock, so many run at once and a slow one holds up nothing else. They pass the
 * sandbox's {@link Gate}, which a lifecycle step shuts (new calls get 409) and which tells a call that failed under
 * a pause or destroy that it lost a race (409), not that the guest broke (502). A call in flight keeps the reaper
 * away; only a call that succeeded moves {@code last_active_at}.
 */
final class SandboxService implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SandboxService.class);
    /** Transfers get 30 s plus a second per MiB: 100 MiB may take 130 s, a slow client's pace (1 MiB/s). */
    static final Duration TRANSFER_BASE = Duration.ofSeconds(30);
    static final long MIN_TRANSFER_BYTES_PER_SEC = 1024 * 1024;
    /** A directory check is one agent round trip; past this, the agent's own check at exec decides. */
    static final Duration CWD_CHECK_TIMEOUT = Duration.ofSeconds(5);

    private final Engine engine;
    private final RecordStore store;
    private final ServerConfig config;
    private final Clock clock;
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    private final Map<String, Gate> gates = new ConcurrentHashMap<>();
    private final DestroyJournal journal;
    private final Admission admission;

    SandboxService(Engine engine, RecordStore store, ServerConfig config, Clock clock) {
        this.engine = engine;
        this.store = store;
        this.config = config;
        this.clock = clock;
        this.journal = new DestroyJournal(config.dataDir().resolve("destroyed"));
        this.admission = new Admission(config.budget(), config.dataDir());
        new StartupReconciler(engine, store, journal, this::now).run();
        startWarmPool(config.warmPool());
    }

    /** Claims of pool clones: never a sandbox id (those start with a letter or digit). */
    static final String POOL_CLAIM = ".pool/";

    /**
     * The warm pool's clones hold memory and vCPUs like sandboxes, so each is admitted against the same budget
     * first; a pool the engine refuses (no KVM here, a disk template) is logged and the server runs without it.
     */
    private void startWarmPool(ServerConfig.WarmPool pool) {
        if (pool.entries().isEmpty()) {
            return;
        }
        engine.poolGate(new PoolGate() {
            @Override
            public boolean admit(String entry, int vcpus, int memoryMb) {
                try {
                    admission.claim(POOL_CLAIM + entry, vcpus, memoryMb);
                    return true;
                } catch (ApiException full) {
                    return false;
                }
            }

            @Override
            public void release(String entry) {
                admission.release(POOL_CLAIM + entry);
            }
        });
        for (ServerConfig.WarmPool.Entry e : pool.entries()) {
            PoolShape shape = new PoolShape(e.template(), e.vcpus(), e.memoryMb(),
                    config.network() ? NetworkSpec.DEFAULT : null);
            try {
                engine.configurePool(shape, e.size(), pool.idle());
                LOG.info("warm pool: {} clones of {}", e.size(), shape);
            } catch (EngineException refused) {
                LOG.warn("warm pool for {} refused by the engine: {}", shape, refused.getMessage());
            }
        }
    }

    /** Pool clones ready now, per shape (for /health). */
    Map<String, Integer> pooled() {
        Map<String, Integer> out = new java.util.LinkedHashMap<>();
        engine.pooled().forEach((shape, n) -> out.put(shape.toString(), n));
        return out;
    }

    EngineConfig limits() {
        return engine.config();
    }

    /** Whether sandboxes get a network ({@code --network}). */
    boolean networking() {
        return config.network();
    }

    Engine engine() {
        return engine;
    }

    int recordCount() {
        return store.size();
    }

    /** What the sandbox's last pause wrote, if the engine tells. */
    OptionalLong lastSnapshotBytes(String id) {
        return engine.find(id).map(Sandbox::lastSnapshotBytes).orElse(OptionalLong.empty());
    }

    /** The engine's VM exit counts by kind (process-wide; empty for an engine without vCPUs). */
    Map<String, Long> vmExits() {
        return engine.vmExits();
    }

    /** Records by status, as the store has them (no VM is asked: a scrape changes nothing). */
    Map<Status, Integer> countByStatus() {
        Map<Status, Integer> counts = new java.util.EnumMap<>(Status.class);
        for (SandboxRecord rec : store.all()) {
            counts.merge(rec.status(), 1, Integer::sum);
        }
        return counts;
    }

    Admission.Capacity capacity() {
        return admission.capacity();
    }

    // ---- lifecycle -------------------------------------------------------------------------------------------

    SandboxRecord create(CreateRequest req) {
        checkTemplate(req);
        SandboxRecord rec = SandboxRecord.pending(Ids.next(), req, now());
        while (!store.insert(rec)) {
            rec = SandboxRecord.pending(Ids.next(), req, now());
        }
        String id = rec.id();
        try {
            admission.claim(id, req.vcpus(), req.memoryMb());
        } catch (ApiException e) {
            store.remove(id);  // refused before anything started: nothing to show
            throw e;
        }
        return locked(id, () -> {
            Sandbox vm;
            try {
                vm = engine.create(new SandboxSpec(id, req.template(), req.vcpus(), req.memoryMb(), req.network(),
                        req.diskMb()));
            } catch (EngineException e) {
                admission.release(id);
                if (e.kind() == EngineException.Kind.INVALID_SPEC) {
                    store.remove(id);   // the caller's mistake: nothing was created, nothing to show
                } else {
                    store.update(id, r -> r.withStatus(Status.ERROR, now(), e.getMessage()));
                }
                throw e;
            } catch (RuntimeException | Error e) {
                admission.release(id);
                // never leave a record pending: whatever broke, it did not start
                store.update(id, r -> r.withStatus(Status.ERROR, now(), e.toString()));
                throw e;
            }
            return store.update(id, r -> r.started(now(), vm.network())).orElseThrow();
        });
    }

    /**
     * The template must be one the engine lists and can boot now, and disk_mb must fit it: answered before any
     * record or VM exists (404 for an unknown template, 409 for one building or failed, 400 for a disk_mb it cannot
     * take). An engine that lists no templates at all (one without a catalog, or none opened) is left to decide in
     * its create, as before.
     */
    private void checkTemplate(CreateRequest req) {
        String name = req.template();
        TemplateInfo t = engine.template(name).orElse(null);
        if (t == null) {
            if (engine.templates().isEmpty()) {
                return;
            }
            throw ApiError.NOT_FOUND.exception("no template named '" + name + "'");
        }
        switch (t.status()) {
            case READY -> { }
            case BUILDING -> throw ApiError.INVALID_STATE.exception("template " + name
                    + " is still building: wait until GET /v1/templates/" + name + " says ready");
            case FAILED -> throw ApiError.INVALID_STATE.exception("template " + name + " failed to build: delete it"
                    + " and build it again (GET /v1/templates/" + name + " says why)");
        }
        if (req.diskMb() == 0) {
            return;
        }
        if (t.kind() != TemplateInfo.Kind.DISK) {
            throw Fields.bad("disk_mb: template " + name + " has no disk (it is an initramfs); leave disk_mb out");
        }
        long minMb = (t.sizeBytes() + (1 << 20) - 1) >> 20;
        if (req.diskMb() < minMb) {
            throw Fields.bad("disk_mb must be at least " + minMb + " for template " + name + " (its image's size),"
                    + " got " + req.diskMb());
        }
    }

    List<SandboxRecord> list() {
        return store.all().stream().map(this::reconcile).toList();
    }

    SandboxRecord get(String id) {
        return reconcile(require(id));
    }

    /** Destroys the VM; the record stays, stopped, until the retention time passes. Idempotent. */
    void destroy(String id) {
        locked(id, () -> {
            SandboxRecord rec = require(id);
            if (rec.status() != Status.STOPPED || engine.find(id).isPresent()) {
                Gate gate = gate(id);
                gate.shut("being destroyed", config.drainGrace());
                try {
                    stopVm(id, Status.STOPPED, "destroyed on request");
                } finally {
                    gate.open();  // the record says stopped now: later calls get 409 from it
                }
            }
            return null;
        });
    }

    SandboxRecord pause(String id) {
        return locked(id, () -> {
            SandboxRecord rec = reconcile(require(id));
            if (rec.status() != Status.RUNNING) {
                throw ApiError.INVALID_STATE.exception("sandbox " + id + " is " + rec.status().wire()
                        + ", not running");
            }
            Sandbox vm = vm(rec);
            Gate gate = gate(id);
            gate.shut("pausing", config.drainGrace());
            try {
                vm.pause();
                admission.release(id);  // a paused sandbox holds disk, not RAM or vCPUs
                return store.update(id, r -> r.withStatus(Status.PAUSED, now(), null)).orElseThrow();
            } finally {
                gate.open();
            }
        });
    }

    SandboxRecord resume(String id) {
        return locked(id, () -> {
            SandboxRecord rec = reconcile(require(id));
            if (rec.status() != Status.PAUSED) {
                throw ApiError.INVALID_STATE.exception("sandbox " + id + " is " + rec.status().wire()
                        + ", not paused");
            }
            Sandbox vm = vm(rec);
            Gate gate = gate(id);
            admission.claim(id, rec.vcpus(), rec.memoryMb());  // 503 before anything changes: it stays paused
            gate.shut("resuming", Duration.ZERO);
            try {
                vm.resume();
            } catch (RuntimeException | Error e) {
                admission.release(id);
                gate.open();
                throw e;
            }
            try {
                // Resuming is activity: the idle clock restarts, so a long pause is not reaped at once.
                return store.update(id, r -> r.withStatus(Status.RUNNING, now(), null).touched(now())
                        .withAddresses(vm.network())).orElseThrow();
            } finally {
                gate.open();
            }
        });
    }

    // ---- work inside a running sandbox ------------------------------------------------------------------------

    ExecResponse exec(String id, ExecCommand cmd) {
        ExecRequest request = cmd.toRequest(config.execOutputCap());
        return use(id, "exec", true, vm -> {
            ExecResult result;
            try {
                result = vm.exec(request);
            } catch (AgentException e) {
                if (e.kind() != AgentException.Kind.TIMEOUT) {
                    throw missingCwd(cmd, e);
                }
                // The agent call itself timed out (the guest did not report back): still a timed-out command,
                // not a gateway failure; its output is lost.
                result = new ExecResult(new byte[0], new byte[0], ExecResponse.TIMED_OUT_EXIT_CODE, 0, true,
                        false, false, request.timeout());
            }
            return ExecResponse.of(id, cmd.cmd(), result, config.execOutputCap());
        });
    }

    /**
     * Starts {@code cmd} with its output going to a bounded {@link ExecStream}. Everything that can refuse it
     * (404, 409, 429, a missing cwd as 400) happens here, before the caller commits a 200; from then on failures
     * arrive as the stream's last event. The stream holds the sandbox's gate until the command ends, and a pause
     * or destroy ends it at once.
     */
    ExecStream execStream(String id, ExecCommand cmd) {
        ExecRequest request = cmd.toRequest(config.execOutputCap());
        ExecStream stream = new ExecStream(config.execOutputCap());
        Work work = admit(id, "exec/stream", true, why -> stream.interrupt(ApiError.INVALID_STATE,
                "sandbox " + id + " is " + why + ": the command was stopped"));
        try {
            if (cmd.cwd() != null) {
                requireDirectory(work.vm(), cmd.cwd());
            }
        } catch (RuntimeException e) {
            work.close();
            throw e instanceof ApiException ? e : work.failed(e);
        }
        stream.start(() -> runStream(work, cmd, request, stream));
        return stream;
    }

    private void runStream(Work work, ExecCommand cmd, ExecRequest request, ExecStream stream) {
        try (work) {
            if (stream.ended()) {
                return;  // a pause or destroy came before the command started
            }
            ExecExit exit;
            try {
                exit = work.vm().exec(request, stream.listener());
            } catch (AgentException e) {
                if (e.kind() != AgentException.Kind.TIMEOUT) {
                    throw missingCwd(cmd, e);
                }
                exit = new ExecExit(ExecResponse.TIMED_OUT_EXIT_CODE, 0, true, false, false, request.timeout());
            } finally {
                stream.engineDone();
            }
            stream.exited(exit);
            work.succeeded();
        } catch (RuntimeException e) {
            RuntimeException why = e instanceof ApiException ? e : work.failed(e);
            ApiError error = ErrorMapper.classify(why);
            if (error == ApiError.INTERNAL) {
                LOG.error("exec/stream in {} failed", work.id, why);
            }
            stream.fail(error, ErrorMapper.message(error, why));
        }
    }

    /**
     * A cwd that is not a directory, found before anything runs: the agent's READ of a directory answers
     * IS_DIRECTORY at once (a missing path NOT_FOUND), so no process is started to ask.
     */
    private static void requireDirectory(Sandbox vm, String cwd) {
        try {
            vm.readFile(cwd, OutputStream.nullOutputStream(), 0, CWD_CHECK_TIMEOUT);
        } catch (AgentException e) {
            switch (e.kind()) {
                // A slow guest (or a FIFO) is no proof either way: the agent's own check at exec then decides.
                case IS_DIRECTORY, TIMEOUT -> {
                    return;
                }
                case NOT_FOUND -> throw ApiError.BAD_REQUEST.exception("cwd " + cwd
                        + ": no such directory in the sandbox");
                case TOO_LARGE -> throw ApiError.BAD_REQUEST.exception("cwd " + cwd + ": not a directory");
                case INVALID -> throw ApiError.BAD_REQUEST.exception("cwd " + cwd + ": not a directory ("
                        + e.getMessage() + ")");
                default -> throw e;
            }
        }
        throw ApiError.BAD_REQUEST.exception("cwd " + cwd + ": not a directory");  // it read as a (empty) file
    }

    /** The agent refuses a cwd that does not exist (NOT_FOUND) or is no directory: the caller's mistake, a 400. */
    private static RuntimeException missingCwd(ExecCommand cmd, AgentException e) {
        return cmd.cwd() == null ? e : missingCwd(cmd.cwd(), e);
    }

    private static RuntimeException missingCwd(String cwd, AgentException e) {
        if (e.kind() == AgentException.Kind.NOT_FOUND
                || e.kind() == AgentException.Kind.INVALID && e.getMessage().contains("working directory")) {
            boolean missing = e.kind() == AgentException.Kind.NOT_FOUND;
            return ApiError.BAD_REQUEST.exception("cwd " + cwd + ": "
                    + (missing ? "no such directory in the sandbox" : "not a directory"));
        }
        return e;
    }

    /** {@code expectedBytes}: the size the upload may reach (its Content-Length, or the limit), for its deadline. */
    void writeFile(String id, String path, InputStream content, long expectedBytes) {
        use(id, "files/write", false, vm -> {
            vm.writeFile(path, content, 0644, transferDeadline(expectedBytes));
            return null;
        });
    }

    long readFile(String id, String path, OutputStream out) {
        return use(id, "files/read", false, vm -> vm.readFile(path, out, config.maxFileBytes(),
                transferDeadline(config.maxFileBytes())));
    }

    DirListing listDirectory(String id, String path, int maxEntries) {
        return use(id, "files/list", false, vm -> vm.listDirectory(path, maxEntries));
    }

    /** Returns whether the directory was created (false: it was there). */
    boolean makeDirectory(String id, String path) {
        return use(id, "files/mkdir", false, vm -> vm.makeDirectory(path, 0755));
    }

    long remove(String id, String path, boolean recursive) {
        return use(id, "files/delete", false, vm -> vm.remove(path, recursive));
    }

    // ---- background processes: they live in the guest, so nothing of them is kept here ----

    ProcessInfo startProcess(String id, ProcessStartRequest start) {
        return use(id, "processes/start", false, vm -> {
            try {
                return vm.startProcess(start.cmd(), start.args(), start.env(), start.cwd());
            } catch (AgentException e) {
                throw start.cwd() == null ? e : missingCwd(start.cwd(), e);
            }
        });
    }

    List<ProcessInfo> listProcesses(String id) {
        return use(id, "processes/list", false, Sandbox::listProcesses);
    }

    /** False when the process had exited already. */
    boolean signalProcess(String id, int pid, ProcessSignal signal) {
        return use(id, "processes/signal", false, vm -> vm.signalProcess(pid, signal));
    }

    ProcessOutput readProcessOutput(String id, int pid, long stdoutOffset, long stderrOffset, Duration wait) {
        return use(id, "processes/stream", false, vm -> vm.readProcessOutput(pid, stdoutOffset, stderrOffset,
                AgentCodec.CHUNK, wait));
    }

    /** Whether a sandbox that refused work now may take it again later (paused, or in a lifecycle step). */
    boolean mayComeBack(String id) {
        return store.get(id).map(this::reconcile)
                .map(r -> r.status() == Status.RUNNING || r.status() == Status.PAUSED || r.status() == Status.PENDING)
                .orElse(false);
    }

    /** What a transfer of {@code bytes} may take: a fixed part plus the time at the slowest rate we accept. */
    static Duration transferDeadline(long bytes) {
        return TRANSFER_BASE.plusMillis(Math.max(0, bytes) * 1000 / MIN_TRANSFER_BYTES_PER_SEC);
    }

    /** Checks a sandbox can take work now, before a handler starts reading a large body for it. */
    void requireRunning(String id, String what) {
        SandboxRecord rec = reconcile(require(id));
        if (rec.status() != Status.RUNNING) {
            throw ApiError.INVALID_STATE.exception("sandbox " + id + " is " + rec.status().wire() + ": " + what
                    + " needs a running sandbox");
        }
    }

    // ---- ports: HTTP to the sandbox at its host address ----

    /**
     * Lets a request for one of the sandbox's ports in: 404 for an unknown sandbox, 409 for one not running or
     * without a network. The lease holds the sandbox's gate until closed: the idle reaper leaves the sandbox alone
     * meanwhile, and a pause or destroy tells {@code onShut} at once (so the request ends rather than holding the
     * step up for the drain grace).
     */
    PortLease openPort(String id, Consumer<String> onShut) {
        Work work = admit(id, "ports", false, onShut);
        try {
            String hostIp = work.vm().network().map(SandboxNetwork::hostIp).orElseThrow(() ->
                    ApiError.INVALID_STATE.exception("sandbox " + id + " has no network (it was created with"
                            + " \"network\": null, or by a server with --network off)"));
            return new PortLease(work, hostIp);
        } catch (RuntimeException e) {
            work.close();
            throw e;
        }
    }

    /** A request in flight to a sandbox's port (see {@link #openPort}); {@link #close} it exactly once. */
    final class PortLease implements AutoCloseable {
        private final Work work;
        private final String hostIp;

        private PortLease(Work work, String hostIp) {
            this.work = work;
            this.hostIp = hostIp;
        }

        /** Where the sandbox's ports are reachable from this host. */
        String hostIp() {
            return hostIp;
        }

        /** Something in the sandbox answered: activity for the idle reaper, as a successful exec is. */
        void answered() {
            work.succeeded();
        }

        /** What to answer for a failure to reach the port: a 409 if a pause or destroy ran under it. */
        RuntimeException failed(RuntimeException e) {
            return work.failed(e);
        }

        @Override
        public void close() {
            work.close();
        }
    }

    private <T> T use(String id, String what, boolean exec, Function<Sandbox, T> op) {
        try (Work work = admit(id, what, exec, null)) {
            try {
                T result = op.apply(work.vm());
                work.succeeded();
                return result;
            } catch (ApiException e) {
                throw e;
            } catch (RuntimeException e) {
                throw work.failed(e);
            }
        }
    }

    /** Lets a call into a running sandbox through its gate; 409 or 429 if it may not enter now. */
    private Work admit(String id, String what, boolean exec, Consumer<String> onShut) {
        requireRunning(id, what);
        Gate gate = gate(id);
        Gate.Pass pass = gate.enter(id, what, exec, onShut);
        try {
            requireRunning(id, what);  // a whole pause may have run between the first check and the pass
            return new Work(id, what, gate, pass, vm(require(id)));
        } catch (RuntimeException e) {
            gate.leave(pass);
            throw e;
        }
    }

    /** A call inside a sandbox's gate with its VM; {@link #close} (leaves the gate) exactly once. */
    private final class Work implements AutoCloseable {
        private final String id;
        private final String what;
        private final Gate gate;
        private final Gate.Pass pass;
        private final Sandbox vm;
        private final AtomicBoolean left = new AtomicBoolean();

        Work(String id, String what, Gate gate, Gate.Pass pass, Sandbox vm) {
            this.id = id;
            this.what = what;
            this.gate = gate;
            this.pass = pass;
            this.vm = vm;
        }

        Sandbox vm() {
            return vm;
        }

        /** Only a call that worked is activity: failures must not keep a sandbox from the reaper. */
        void succeeded() {
            touch(id);
        }

        /** What to answer for a failure of the engine call: a 409 if a lifecycle step ran under it. */
        RuntimeException failed(RuntimeException e) {
            return conflictOr(id, what, gate, pass, e);
        }

        @Override
        public void close() {
            if (left.compareAndSet(false, true)) {
                gate.leave(pass);
            }
        }
    }

    /**
     * A call that failed: if a pause, resume or destroy ran under it, or the VM is no longer running (it failed,
     * or stopped), that is the answer (409 with why), not the channel error the engine saw. Otherwise the failure
     * stands as it is.
     */
    private RuntimeException conflictOr(String id, String what, Gate gate, Gate.Pass pass, RuntimeException e) {
        // INVALID_STATE from the engine: the call got past the gate just before a pause shut it and reached the VM
        // after the pause (a drain grace that ran out): the same race as a dropped connection
        if (e instanceof EngineException x && x.kind() != EngineException.Kind.VM_FAILED
                && x.kind() != EngineException.Kind.INVALID_STATE) {
            return e;
        }
        if (e instanceof AgentException x && (x.errno() != 0 || x.kind() != AgentException.Kind.CLOSED
                && x.kind() != AgentException.Kind.IO && x.kind() != AgentException.Kind.PROTOCOL
                && x.kind() != AgentException.Kind.INTERRUPTED)) {
            return e;  // the agent answered (not found, too large, a guest I/O error): no race there
        }
        String interrupted = gate.interruptedBy(pass);
        if (interrupted != null) {
            return ApiError.INVALID_STATE.exception("sandbox " + id + " was " + interrupted + " during " + what);
        }
        SandboxRecord now = store.get(id).map(this::reconcile).orElse(null);
        if (now == null || now.status() != Status.RUNNING) {
            String status = now == null ? "gone" : now.status().wire();
            String why = now == null || now.statusReason() == null ? "" : ": " + now.statusReason();
            return ApiError.INVALID_STATE.exception("sandbox " + id + " became " + status + " during " + what + why);
        }
        return e;
    }

    private Gate gate(String id) {
        return gates.computeIfAbsent(id, k -> new Gate(config.maxExecsPerSandbox()));
    }

    private void touch(String id) {
        Instant now = now();
        store.update(id, r -> r.status() == Status.RUNNING ? r.touched(now) : r);
    }

    // ---- the reaper's work --------------------------------------------------------------------------------------

    /** Destroys sandboxes idle past their timeout, notices dead VMs, purges old stopped records. */
    void reap() {
        Instant now = now();
        for (SandboxRecord rec : store.all()) {
            try {
                reapOne(rec, now);
            } catch (RuntimeException e) {
                LOG.warn("reaper: {} failed: {}", rec.id(), e.toString());
            }
        }
    }

    private void reapOne(SandboxRecord rec, Instant now) {
        String id = rec.id();
        rec = reconcile(rec);
        boolean idle = rec.status() == Status.RUNNING && busy(id) == 0
                && rec.idleSince().plusSeconds(rec.timeoutSec()).isBefore(now);
        boolean expired = !rec.status().live()
                && rec.lastUpdated().plus(config.stoppedRetention()).isBefore(now);
        // A failed VM may still hold RAM, threads and fds: collect it now, keep its record for the retention.
        boolean failedVm = rec.status() == Status.ERROR && engine.find(id).isPresent();
        if (!idle && !expired && !failedVm) {
            return;
        }
        ReentrantLock lock = locks.computeIfAbsent(id, k -> new ReentrantLock());
        if (!lock.tryLock()) {
            return;  // a lifecycle operation is running: look again next round
        }
        try {
            SandboxRecord fresh = store.get(id).orElse(null);
            if (fresh == null) {
                return;
            }
            if (idle && fresh.status() == Status.RUNNING && busy(id) == 0
                    && fresh.idleSince().plusSeconds(fresh.timeoutSec()).isBefore(now)) {
                Gate gate = gate(id);
                gate.shut("being reaped", Duration.ZERO, false);  // a stream that just came in keeps running
                try {
                    if (gate.inside() == 0) {  // a call may have slipped in since the check: then not idle
                        LOG.info("reaper: {} idle for {} s, destroying", id, fresh.timeoutSec());
                        stopVm(id, Status.STOPPED, "idle timeout (" + fresh.timeoutSec() + " s) reached");
                    }
                } finally {
                    gate.open();
                }
            } else if (failedVm && fresh.status() == Status.ERROR && !expired) {
                LOG.info("reaper: {} failed ({}), stopping its VM", id, fresh.statusReason());
                stopVm(id, Status.ERROR, null);
            } else if (expired && !fresh.status().live()) {
                if (engine.find(id).isPresent()) {
                    stopVm(id, fresh.status(), null);  // an errored VM may still hold resources in the engine
                }
                store.remove(id);
                gates.remove(id);
                locks.remove(id);
            }
        } finally {
            lock.unlock();
        }
    }

    private int busy(String id) {
        Gate gate = gates.get(id);
        return gate == null ? 0 : gate.inside();
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    private SandboxRecord require(String id) {
        return store.get(id).orElseThrow(() -> ApiError.NOT_FOUND.exception("sandbox " + id + " not found"));
    }

    /** The engine's sandbox for a live record; a record whose VM is gone is corrected and refused. */
    private Sandbox vm(SandboxRecord rec) {
        if (engine instanceof UnavailableEngine down) {
            throw ApiError.ENGINE_UNAVAILABLE.exception("engine unavailable: " + down.reason());
        }
        return engine.find(rec.id()).orElseThrow(() -> {
            admission.release(rec.id());
            store.update(rec.id(), r -> r.status().live() ? r.withStatus(Status.STOPPED, now(), "the VM is gone")
                    : r);
            return ApiError.INVALID_STATE.exception("sandbox " + rec.id() + " is no longer running");
        });
    }

    /** Brings a running or paused record in line with its VM, which may have died or shut itself down. */
    private SandboxRecord reconcile(SandboxRecord rec) {
        if (rec.status() != Status.RUNNING && rec.status() != Status.PAUSED || engine instanceof UnavailableEngine) {
            return rec;  // without an engine nothing can be judged: a paused record stays paused
        }
        Sandbox vm = engine.find(rec.id()).orElse(null);
        Sandbox.State state = vm == null ? Sandbox.State.STOPPED : vm.state();
        Status wanted = switch (state) {
            case RUNNING, PAUSED -> rec.status();
            case STOPPED -> Status.STOPPED;
            case FAILED -> Status.ERROR;
        };
        if (wanted == rec.status()) {
            return rec;
        }
        String why = state == Sandbox.State.FAILED ? vm.failure().orElse("the VM failed")
                : "the VM stopped";
        admission.release(rec.id());
        return store.update(rec.id(), r -> r.status() == rec.status() ? r.withStatus(wanted, now(), why) : r)
                .orElse(rec);
    }

    /**
     * Destroys the VM and its snapshot files, recorded in this order: the destroy durably in the journal, then the
     * record's new status, then the files. A crash anywhere in between leaves a journal entry the next start
     * finishes; a paused snapshot without one is never deleted.
     */
    private void stopVm(String id, Status status, String why) {
        admission.release(id);
        journal.record(id);
        store.update(id, r -> r.status() == status && why == null ? r : r.withStatus(status, now(), why));
        boolean closed = engine.find(id).map(vm -> {
            try {
                vm.close();
                return true;
            } catch (RuntimeException e) {
                LOG.warn("closing sandbox {}: {}", id, e.toString());
                return false;
            }
        }).orElse(true);
        if (closed) {
            journal.done(id);
        }
    }

    private <T> T locked(String id, Supplier<T> action) {
        ReentrantLock lock = locks.computeIfAbsent(id, k -> new ReentrantLock());
        lock.lock();
        try {
            return action.get();
        } finally {
            lock.unlock();
        }
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    /** Shutdown: every VM stopped cleanly, every record saying so, then the engine and the store closed. */
    @Override
    public void close() {
        LOG.info("shutting down: stopping every sandbox and flushing the store");
        for (SandboxRecord rec : store.all()) {
            if (rec.status().live() && rec.status() != Status.PAUSED && !(engine instanceof UnavailableEngine)) {
                try {
                    stopVm(rec.id(), Status.STOPPED, "the server shut down");
                } catch (RuntimeException e) {
                    LOG.warn("stopping {} at shutdown: {}", rec.id(), e.toString());
                }
            }
        }
        // Paused sandboxes stay paused: the engine keeps their snapshots, and the next start takes them back.
        try {
            engine.close();
        } finally {
            store.close();
        }
    }
}
