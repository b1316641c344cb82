package dev.sandbox.engine.vmm;

import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.Sandbox;
import dev.sandbox.engine.SandboxNetwork;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.engine.agent.AgentClient;
import dev.sandbox.engine.agent.DirListing;
import dev.sandbox.engine.agent.AgentException;
import dev.sandbox.engine.agent.ExecExit;
import dev.sandbox.engine.agent.ExecListener;
import dev.sandbox.engine.agent.ExecRequest;
import dev.sandbox.engine.agent.ExecResult;
import dev.sandbox.engine.agent.ProcessInfo;
import dev.sandbox.engine.agent.ProcessOutput;
import dev.sandbox.engine.agent.ProcessSignal;
import dev.sandbox.engine.vmm.devices.virtio.blk.OverlayDisk;
import dev.sandbox.engine.vmm.vstate.StopReason;
import dev.sandbox.engine.vmm.devices.virtio.vsock.VsockMetrics;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A microVM with its agent connection, or, while paused, its snapshot on disk. Guest calls go to the agent. Pausing
 * writes the VM to its snapshot folder and frees it (threads, fds, RAM); resuming builds a new VM from those files
 * and connects to the agent again ({@link Snapshots} does both). When the VM stops on its own (guest
 * reboot/poweroff, KVM failure) the agent connection is closed so calls in flight fail at once.
 */
final class KvmSandbox implements Sandbox {
    private static final System.Logger LOG = System.getLogger(KvmSandbox.class.getName());

    /** A running VM and the agent in it. */
    record Live(Microvm vm, AgentClient agent) {
        Live {
            vm.stopped().thenAccept(reason -> {
                if (!(reason instanceof StopReason.Requested)) { // the guest went away on its own: say how
                    LOG.log(System.Logger.Level.WARNING, "{0} stopped: {1}", vm.name(), reason);
                }
                Thread.ofVirtual().name(vm.name() + "-stopped").start(agent::close);
            });
        }
    }

    static final Duration RECONNECT_TIMEOUT = Duration.ofSeconds(15);
    /** How long a remove may take: a recursive one walks a whole tree (the agent stops at the cancel after it). */
    static final Duration REMOVE_TIMEOUT = Duration.ofMinutes(5);

    private final SandboxSpec spec;
    private final Snapshots snapshots;
    private final Consumer<KvmSandbox> onClose;
    private final Duration bootTime;
    /** Null while paused. */
    private volatile Live live;
    /** Why a pause or resume broke the sandbox, or null. */
    private volatile String failure;
    private volatile boolean closed;
    /** What the last pause wrote, -1 before one. */
    private volatile long lastSnapshotBytes = -1;
    /** Its network (slot and namespace), or null for a sandbox without one. */
    private final SandboxNet net;

    KvmSandbox(SandboxSpec spec, Live live, Snapshots snapshots, Duration bootTime, Consumer<KvmSandbox> onClose) {
        this(spec, live, snapshots, bootTime, onClose, null);
    }

    KvmSandbox(SandboxSpec spec, Live live, Snapshots snapshots, Duration bootTime, Consumer<KvmSandbox> onClose,
               SandboxNet net) {
        this.net = net;
        this.spec = spec;
        this.live = live;
        this.snapshots = snapshots;
        this.bootTime = bootTime;
        this.onClose = onClose;
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
    public Optional<SandboxNetwork> network() {
        return net == null ? Optional.empty() : Optional.of(net.network());
    }

    /** From create to the agent's handshake. */
    public Duration bootTime() {
        return bootTime;
    }

    /**
     * The files a running VM reads that may lie in a template's folder: the memory file it maps copy-on-write (a
     * template's, or its own snapshot's), the delta mapped over it and its root disk's overlay layers. Empty while
     * paused or stopped.
     */
    List<Path> filesInUse() {
        Live l = live;
        if (l == null) {
            return List.of();
        }
        List<Path> files = new ArrayList<>();
        if (l.vm().memoryBase() != null) {
            files.add(l.vm().memoryBase().base());
        }
        l.vm().vm().mappedDelta().ifPresent(files::add);
        l.vm().disk().ifPresent(d -> files.addAll(d.layerFiles()));
        return files;
    }

    @Override
    public Map<String, Long> channelCounters() {
        Live l = live;
        if (l == null) {
            return Map.of();
        }
        VsockMetrics m = l.vm().vsock().metrics();
        return Map.of("connects", m.hostConnects(), "transport_resets", m.transportResets(), "restored",
                m.connectionsRestored(), "reattached", m.reattached(), "bytes_to_guest", m.bytesToGuest(),
                "bytes_from_guest", m.bytesFromGuest());
    }

    /** Why the VM stopped, or null while it runs or is paused. */
    public StopReason stopReason() {
        Live l = live;
        return l == null ? null : l.vm().stopped().getNow(null);
    }

    @Override
    public State state() {
        if (closed) {
            return State.STOPPED;
        }
        if (failure != null) {
            return State.FAILED;
        }
        Live l = live;
        if (l == null) {
            return State.PAUSED;
        }
        StopReason reason = l.vm().stopped().getNow(null);
        if (reason != null) {
            return reason instanceof StopReason.Failed || reason instanceof StopReason.Crashed ? State.FAILED
                    : State.STOPPED;
        }
        return State.RUNNING;
    }

    @Override
    public Optional<String> failure() {
        if (state() != State.FAILED) {
            return Optional.empty();
        }
        String f = failure;
        if (f != null) {
            return Optional.of(f);
        }
        Live l = live;
        StopReason reason = l == null ? null : l.vm().stopped().getNow(null);
        return Optional.of(reason == null ? "failed" : reason.describe());
    }

    @Override
    public ExecResult exec(ExecRequest request) {
        return onAgent("exec", a -> a.exec(request));
    }

    @Override
    public ExecExit exec(ExecRequest request, ExecListener listener) {
        return onAgent("exec", a -> a.exec(request, listener));
    }

    @Override
    public void writeFile(String path, InputStream content, int mode) {
        onAgent("writeFile", a -> a.writeFile(path, content, mode));
    }

    @Override
    public long readFile(String path, OutputStream out, long maxBytes) {
        return onAgent("readFile", a -> a.readFile(path, out, maxBytes, AgentClient.DEFAULT_TIMEOUT));
    }

    // Transfers with the caller's deadline (issue 13: a fixed 30 s failed 100 MiB at under 3.4 MiB/s).
    @Override
    public void writeFile(String path, InputStream content, int mode, Duration timeout) {
        onAgent("writeFile", a -> a.writeFile(path, content, mode, timeout));
    }

    @Override
    public long readFile(String path, OutputStream out, long maxBytes, Duration timeout) {
        return onAgent("readFile", a -> a.readFile(path, out, maxBytes, timeout));
    }

    @Override
    public DirListing listDirectory(String path, int maxEntries) {
        return onAgent("listDirectory", a -> a.list(path, maxEntries));
    }

    @Override
    public boolean makeDirectory(String path, int mode) {
        return onAgent("makeDirectory", a -> a.mkdir(path, mode));
    }

    /** A recursive remove of a large tree takes longer than one small call: its own, longer deadline. */
    @Override
    public long remove(String path, boolean recursive) {
        return onAgent("remove", a -> a.remove(path, recursive, REMOVE_TIMEOUT));
    }

    // Background processes: each call goes to the agent connection of the moment, so a resume (a new connection)
    // changes nothing for them; the processes and their output live in the guest.
    @Override
    public ProcessInfo startProcess(String cmd, List<String> args, Map<String, String> env, String cwd) {
        List<String> entries = env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
        return onAgent("startProcess", a -> a.startProcess(cmd, args, entries, cwd == null ? "" : cwd));
    }

    @Override
    public List<ProcessInfo> listProcesses() {
        return onAgent("listProcesses", AgentClient::listProcesses);
    }

    @Override
    public boolean signalProcess(int pid, ProcessSignal signal) {
        return onAgent("signalProcess", a -> a.signalProcess(pid, signal));
    }

    @Override
    public ProcessOutput readProcessOutput(int pid, long stdoutOffset, long stderrOffset, int maxBytes,
                                           Duration wait) {
        return onAgent("readProcessOutput", a -> a.readProcessOutput(pid, stdoutOffset, stderrOffset, maxBytes,
                wait));
    }

    @Override
    public Duration ping() {
        return onAgent("ping", AgentClient::ping);
    }

    /**
     * Snapshots the VM to disk and frees it, its agent connection kept in the snapshot. Calls in flight on the agent
     * fail at once with CLOSED ("being paused") and are cancelled in the guest. If the snapshot cannot be written
     * the VM runs on with its connection taken up again, and the pause fails.
     */
    @Override
    public synchronized void pause() {
        Live l = running("pause");
        long t0 = System.nanoTime();
        try {
            Snapshots.Saved saved = snapshots.save(spec, l,
                    net == null ? OptionalInt.empty() : OptionalInt.of(net.slot()));
            live = null;
            lastSnapshotBytes = saved.stateBytes() + saved.memoryDataBytes();
            LOG.log(System.Logger.Level.INFO, "paused {0} in {1} ms: {2}", id(), (System.nanoTime() - t0) / 1_000_000,
                    saved);
        } catch (Snapshots.SaveFailed e) {
            if (e.revived != null) {
                live = e.revived; // a failed pause changes nothing for the caller but the error
                throw new EngineException(EngineException.Kind.VM_FAILED, "pausing " + id() + " failed: "
                        + e.getMessage(), e);
            }
            failure = "pausing failed and the VM could not run again: " + e.getMessage();
            throw new EngineException(EngineException.Kind.VM_FAILED, "pausing " + id() + " failed: "
                    + e.getMessage(), e);
        } catch (RuntimeException e) {
            failure = "pausing failed: " + e.getMessage();
            closeQuietly(l);
            throw new EngineException(EngineException.Kind.VM_FAILED, "pausing " + id() + " failed: "
                    + e.getMessage(), e);
        }
    }

    /**
     * Builds the VM again from its snapshot and reconnects to the agent. A snapshot that cannot be restored (corrupt,
     * or refused by KVM) leaves the sandbox PAUSED with its files as they were, and the error says why.
     */
    @Override
    public synchronized void resume() {
        if (state() != State.PAUSED) {
            throw new EngineException(EngineException.Kind.INVALID_STATE, id() + " is " + state() + ", not PAUSED");
        }
        long t0 = System.nanoTime();
        // The namespace stays through a pause: a resume only opens a new TAP in it (the old one went with the VM).
        live = snapshots.restore(spec, net == null ? null : net.openBackend());
        LOG.log(System.Logger.Level.INFO, "resumed {0} in {1} ms", id(), (System.nanoTime() - t0) / 1_000_000);
    }

    @Override
    public OptionalLong lastSnapshotBytes() {
        long n = lastSnapshotBytes;
        return n < 0 ? OptionalLong.empty() : OptionalLong.of(n);
    }

    @Override
    public String consoleTail() {
        Live l = live;
        return l == null ? "" : l.vm().console().tail();
    }

    @Override
    public String diagnostics() {
        Live l = live;
        if (l == null) {
            return "state " + state();
        }
        return "state " + state() + ", stop reason " + l.vm().stopped().getNow(null) + "\n"
                + l.vm().vsock().describe() + "console tail:\n" + l.vm().console().tail();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            Live l = live;
            if (l != null) {
                l.agent().close();
                l.vm().close();
            }
        } finally {
            try {
                snapshots.delete(id());
            } finally {
                try {
                    if (net != null) {
                        net.release(); // after the VM: its TAP keeps the namespace alive
                    }
                } finally {
                    onClose.accept(this);
                }
            }
        }
    }

    /**
     * For building a template: syncs the guest's file systems, parks its vCPUs and writes its whole root disk,
     * flattened and sparse, to {@code image}. The sandbox can only be closed afterwards.
     */
    synchronized void exportDisk(Path image) {
        Live l = running("export its disk");
        OverlayDisk disk = l.vm().disk().orElseThrow(() -> new EngineException(EngineException.Kind.INVALID_STATE,
                id() + " has no disk"));
        l.agent().quiesce(Snapshots.SYNC_TIMEOUT);
        l.vm().pause();
        try {
            disk.exportTo(image);
        } catch (IOException e) {
            throw new EngineException(EngineException.Kind.VM_FAILED, "writing the disk of " + id() + " to " + image
                    + " failed: " + e.getMessage(), e);
        }
    }

    /** For making a template: hands over the running VM and agent, leaving this sandbox closed and empty. */
    synchronized Live detach() {
        Live l = running("detach");
        live = null;
        closed = true;
        onClose.accept(this);
        return l;
    }

    /** For the engine's close: a paused sandbox keeps its snapshot on disk (see Engine#recover); others close. */
    void release() {
        synchronized (this) {
            if (!closed && live == null && failure == null) {
                closed = true;
                try {
                    if (net != null) {
                        net.closeNamespace(); // its slot stays in the manifest; the next engine makes it again
                    }
                } finally {
                    onClose.accept(this);
                }
                return;
            }
        }
        close();
    }

    /**
     * Runs a guest call. If the agent connection died under it while the VM still runs (not a pause, destroy or a
     * stopped guest, which close it on purpose), the sandbox reconnects once for the calls that follow; if that
     * fails, the VM is stopped and the sandbox is FAILED with the reason. The call that saw the death fails either
     * way: its request may or may not have run.
     */
    private <T> T onAgent(String what, Function<AgentClient, T> call) {
        Live l = running(what);
        try {
            return call.apply(l.agent());
        } catch (AgentException e) {
            // the connection itself is gone (reset, closed), not just this call; a pause letting go of it is not
            if (!l.agent().isOpen() && !l.agent().isSuspended()) {
                reconnect(l, e);
            }
            throw e;
        }
    }

    private synchronized void reconnect(Live dead, RuntimeException cause) {
        if (closed || live != dead || dead.agent().isOpen() || dead.vm().stopped().isDone()) {
            return; // paused, destroyed, already reconnected, or the guest is gone: nothing to mend
        }
        try {
            AgentClient agent = AgentConnector.connect(dead.vm(), System.nanoTime() + RECONNECT_TIMEOUT.toNanos(),
                    AgentClient.DEFAULT_TIMEOUT);
            live = new Live(dead.vm(), agent);
            LOG.log(System.Logger.Level.WARNING, "{0}: the agent connection died ({1}); reconnected", id(),
                    cause.getMessage());
        } catch (AgentConnector.NotReady | RuntimeException e) {
            if (dead.vm().stopped().isDone()) {
                // the guest went away meanwhile (a reboot or poweroff drops the connection first): its stop says how
                return;
            }
            failure = "the agent connection died (" + cause.getMessage() + ") and reconnecting failed: "
                    + e.getMessage();
            LOG.log(System.Logger.Level.WARNING, "{0}: {1}; stopping its VM", id(), failure);
            closeQuietly(dead);
        }
    }

    /** For tests: drops every vsock connection of the running VM, as a guest-side failure would. */
    void dropAgentConnection() {
        Live l = live;
        if (l != null) {
            l.vm().vsock().sendTransportReset();
        }
    }

    private Live running(String what) {
        Live l = live;
        State state = state();
        if (state != State.RUNNING || l == null) {
            StopReason reason = l == null ? null : l.vm().stopped().getNow(null);
            String why = failure != null ? " (" + failure + ")" : reason == null ? "" : " (" + reason.describe() + ")";
            throw new EngineException(EngineException.Kind.INVALID_STATE, "cannot " + what + ": sandbox " + id()
                    + " is " + state + why);
        }
        return l;
    }

    private static void closeQuietly(Live l) {
        try {
            l.agent().close();
            l.vm().close();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "releasing a VM after a failed pause", e);
        }
    }
}
