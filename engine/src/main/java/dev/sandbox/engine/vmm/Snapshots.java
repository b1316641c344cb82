package dev.sandbox.engine.vmm;

import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.engine.agent.AgentClient;
import dev.sandbox.engine.agent.AgentCodec;
import dev.sandbox.engine.agent.ExecRequest;
import dev.sandbox.engine.agent.ExecResult;
import dev.sandbox.engine.vmm.arch.CpuidEntry;
import dev.sandbox.engine.vmm.builder.MicrovmBuilder;
import dev.sandbox.engine.vmm.devices.virtio.blk.DiskStateException;
import dev.sandbox.engine.vmm.devices.virtio.blk.OverlayDisk;
import dev.sandbox.engine.vmm.devices.virtio.net.NetBackend;
import dev.sandbox.engine.vmm.devices.virtio.MmioTransport;
import dev.sandbox.engine.vmm.memory.DeltaRuns;
import dev.sandbox.engine.vmm.snapshot.DeltaFile;
import dev.sandbox.engine.vmm.snapshot.Manifest;
import dev.sandbox.engine.vmm.snapshot.MemoryFile;
import dev.sandbox.engine.vmm.snapshot.MemoryImage;
import dev.sandbox.engine.vmm.snapshot.MicrovmSnapshot;
import dev.sandbox.engine.vmm.snapshot.SnapshotCodec;
import dev.sandbox.engine.vmm.snapshot.SnapshotFile;
import dev.sandbox.engine.vmm.snapshot.SnapshotFormatException;
import dev.sandbox.engine.vmm.vstate.SavedMsrs;
import dev.sandbox.ffi.kvm.Kvm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalInt;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * Pause and resume through snapshots: each sandbox has a folder under the engine's data dir with {@code vmstate}
 * (the {@link MicrovmSnapshot} in a checksummed {@link SnapshotFile}) and {@code memory} (guest RAM, sparse).
 * A resumed VM maps that memory file copy-on-write; the next pause writes a new one and renames it over the old.
 * A VM restored from a base (a template's, or its own) maps the base copy-on-write and its delta's runs over it
 * ({@link DeltaFile}); its next pause writes a new delta under a new name and removes the old once committed.
 */
final class Snapshots {
    private static final System.Logger LOG = System.getLogger(Snapshots.class.getName());
    static final String STATE_FILE = "vmstate";
    static final String MEMORY_FILE = "memory";
    /** Not a valid sandbox id (ids start with a letter or digit), so never a sandbox's snapshot folder. */
    static final String QUARANTINE_DIR = ".quarantine";
    static final long MAX_STATE = 16L << 20;
    static final Duration SYNC_TIMEOUT = Duration.ofSeconds(10);
    static final Duration RESET_TIMEOUT = Duration.ofSeconds(30);
    /** How long a pause waits for a request frame being written before it gives up keeping the connection. */
    static final Duration SUSPEND_TIMEOUT = Duration.ofSeconds(2);

    /** What a pause left on disk, and where its time went (for the log). */
    record Saved(long stateBytes, long memoryDataBytes, long memorySize, String steps) {
        @Override
        public String toString() {
            return "state %d KiB, memory %d MiB written of %d MiB; %s".formatted(stateBytes >> 10,
                    memoryDataBytes >> 20, memorySize >> 20, steps);
        }
    }

    private final Kvm kvm;
    private final Path dataDir;
    private final List<CpuidEntry> supportedCpuid;
    private final int[] savedMsrs;
    private final int hostTscKhz;
    private final boolean xsave;
    private final Duration agentTimeout;
    private final SecureRandom random = new SecureRandom();

    Snapshots(Kvm kvm, Path dataDir, List<CpuidEntry> supportedCpuid, Duration agentTimeout) {
        this.kvm = kvm;
        this.dataDir = dataDir;
        this.supportedCpuid = List.copyOf(supportedCpuid);
        SavedMsrs.Probe probe = SavedMsrs.probe(kvm, supportedCpuid);
        this.savedMsrs = probe.msrs();
        this.hostTscKhz = probe.tscKhz();
        // CPUID.1:ECX bit 26: without XSAVE (the nested test host) KVM keeps no XSAVE area or XCRs worth saving.
        this.xsave = supportedCpuid.stream().anyMatch(e -> e.function() == 1 && (e.ecx() & (1 << 26)) != 0);
        this.agentTimeout = agentTimeout;
    }

    /** What a template's snapshot depends on beyond the guest image: the snapshot format and this host's CPU. */
    int hostFingerprint() {
        return Objects.hash(SnapshotFile.VERSION, supportedCpuid, hostTscKhz);
    }

    Path folder(String id) {
        return dataDir.resolve(id);
    }

    /**
     * A pause whose snapshot could not be written: the VM runs again with its agent connection taken up again (or a
     * new one) ({@code revived}, null if even that failed and the VM is gone) and the files this attempt wrote are
     * removed.
     */
    static final class SaveFailed extends RuntimeException {
        final transient KvmSandbox.Live revived;

        SaveFailed(String message, Throwable cause, KvmSandbox.Live revived) {
            super(message, cause);
            this.revived = revived;
        }
    }

    /**
     * Flushes the guest's file systems, lets go of the agent connection (kept in the snapshot, see
     * {@link AgentClient#suspend}; calls in flight fail), parks the vCPUs, writes state and RAM, then frees the VM. If the files cannot be written (disk full, I/O error) the VM runs on: {@link SaveFailed}. The
     * manifest names the sandbox's network slot, if it has one, which stays reserved while it is paused.
     */
    Saved save(SandboxSpec spec, KvmSandbox.Live live, OptionalInt netSlot) {
        return saveTo(folder(spec.id()), spec, live, netSlot);
    }

    /**
     * {@link #save} into {@code dir}: a sandbox's folder (with a manifest naming {@code spec}), or a template's
     * ({@code spec} null). The vmstate file is the commit point: written (atomically, synced) last, after the memory
     * and the manifest, so a crash or failure before it leaves the previous snapshot, if any, as it was.
     */
    Saved saveTo(Path target, SandboxSpec spec, KvmSandbox.Live live) {
        return saveTo(target, spec, live, OptionalInt.empty());
    }

    private Saved saveTo(Path target, SandboxSpec spec, KvmSandbox.Live live, OptionalInt netSlot) {
        Steps steps = new Steps();
        try {
            live.agent().quiesce(SYNC_TIMEOUT);
        } catch (RuntimeException e) {
            // a guest that cannot sync still pauses: memory holds everything, the page cache included
        }
        Microvm vm = live.vm();
        // The connection stays open in the device and goes into the snapshot with the session: a restore takes it
        // up without a transport reset or a reconnect. If it cannot be left whole, it is closed, as before.
        AgentClient.Session session = live.agent().suspend(SUSPEND_TIMEOUT, vm.vsock()::detachHostChannels)
                .orElse(null);
        steps.done(session != null ? "sync" : "sync (connection closed)");
        vm.pause();
        steps.done("vcpus");
        MicrovmSnapshot state = vm.snapshot(savedMsrs, xsave, supportedCpuid).withAgent(session);
        steps.done("state");
        OverlayDisk disk = vm.disk().orElse(null);
        List<Path> written = new ArrayList<>();
        boolean createdDir = !Files.isDirectory(target);
        long memorySize = vm.vm().memorySize();
        long dataBytes;
        byte[] payload;
        try {
            Path dir = Files.createDirectories(target);
            MemorySegment ram = vm.vm().memory().slice(0, memorySize);
            MemoryImage base = vm.memoryBase();
            MemoryImage image;
            if (base == null) { // booted: its RAM becomes a base, all of it (sparse)
                written.add(dir.resolve(MEMORY_FILE));
                dataBytes = MemoryFile.write(ram, vm.vm().dataPages(), dir.resolve(MEMORY_FILE));
                image = MemoryImage.of(dir.resolve(MEMORY_FILE));
            } else { // restored: only the pages written since, on top of the base it was restored from
                String name = "delta-" + Long.toHexString(random.nextLong() & Long.MAX_VALUE);
                written.add(dir.resolve(name));
                MemoryFile.Delta delta = DeltaFile.write(ram, vm.vm().writtenPages(), dir.resolve(name));
                image = base.withDelta(name, delta.pages(), delta.crc());
                dataBytes = delta.pages() * 4096;
            }
            steps.done("memory");
            if (disk != null) { // the device thread stopped with the snapshot: nothing writes to it now
                state = state.withDisk(disk.sync());
                steps.done("disk");
            }
            if (spec != null) {
                Manifest.write(dir, spec, netSlot);
            }
            payload = SnapshotCodec.encode(state.withMemory(image));
            SnapshotFile.write(dir.resolve(STATE_FILE), payload);
            steps.done("vmstate");
            try {
                removeDeltasBut(dir, image.delta());
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "removing old deltas in {0}: {1}", dir, e.toString());
            }
        } catch (IOException | RuntimeException e) {
            throw new SaveFailed("writing the snapshot to " + target + " failed: " + e.getMessage()
                    + "; the sandbox goes on running", e, revive(target, live, session, written, createdDir, e));
        }
        vm.close();
        steps.done("free");
        return new Saved(payload.length, dataBytes, memorySize, steps.toString());
    }

    /** After a failed save: removes what it wrote, runs the VM again and takes up (or reconnects) its agent. */
    private KvmSandbox.Live revive(Path target, KvmSandbox.Live live, AgentClient.Session session,
                                   List<Path> written, boolean createdDir, Exception cause) {
        for (Path f : written) {
            try {
                Files.deleteIfExists(f);
            } catch (IOException e) {
                cause.addSuppressed(e);
            }
        }
        if (createdDir) {
            try {
                deleteTree(target); // only what this attempt made: the folder did not exist before it
            } catch (RuntimeException e) {
                cause.addSuppressed(e);
            }
        }
        Microvm vm = live.vm();
        try {
            vm.revive();
            AgentClient agent = session != null ? takeUp(vm, session).orElse(null) : null;
            if (agent == null) {
                agent = AgentConnector.connect(vm, System.nanoTime() + agentTimeout.toNanos(),
                        AgentClient.DEFAULT_TIMEOUT);
            }
            LOG.log(System.Logger.Level.WARNING, "{0}: the snapshot could not be written ({1}); running again",
                    vm.name(), cause.toString());
            return new KvmSandbox.Live(vm, agent);
        } catch (AgentConnector.NotReady | RuntimeException e) {
            cause.addSuppressed(e);
            try {
                vm.close();
            } catch (RuntimeException closing) {
                cause.addSuppressed(closing);
            }
            return null;
        }
    }

    /** Deltas of earlier pauses: the new vmstate no longer names them. */
    private static void removeDeltasBut(Path dir, String keep) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(f -> f.getFileName().toString().startsWith("delta-")).toList()) {
                if (!f.getFileName().toString().equals(keep)) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    /** Milliseconds per named step, for logs. */
    private static final class Steps {
        private final StringBuilder text = new StringBuilder();
        private long last = System.nanoTime();

        void done(String step) {
            long now = System.nanoTime();
            text.append(text.isEmpty() ? "" : ", ").append(step).append(' ').append((now - last) / 1_000_000)
                    .append(" ms");
            last = now;
        }

        @Override
        public String toString() {
            return text.toString();
        }
    }

    /** A running VM built from the sandbox's snapshot, with its agent answering again and its clock set. */
    /** The sandbox's own snapshot, the VM's NIC on {@code network} (null: unplugged; owned by the VM from here on). */
    KvmSandbox.Live restore(SandboxSpec spec, NetBackend network) {
        return restoreFrom(folder(spec.id()), spec, false, network);
    }

    /** The snapshot in {@code dir}, decoded and checked against {@code spec}; its memory file is checked too. */
    MicrovmSnapshot read(Path dir, SandboxSpec spec) {
        try {
            MicrovmSnapshot state = SnapshotCodec.decode(SnapshotFile.read(dir.resolve(STATE_FILE), MAX_STATE));
            if (state.vcpus().size() != spec.vcpus() || state.memoryBytes() != (long) spec.memoryMb() << 20) {
                throw new SnapshotFormatException("the snapshot is of a VM with %d vCPUs and %d bytes of RAM, the"
                        .formatted(state.vcpus().size(), state.memoryBytes()) + " sandbox has %d and %d MiB"
                        .formatted(spec.vcpus(), spec.memoryMb()));
            }
            state.memory().checkBase(state.memoryBytes());
            if (state.memory().hasDelta() && !Files.isRegularFile(dir.resolve(state.memory().delta()))) {
                throw new SnapshotFormatException("the memory delta " + state.memory().delta() + " is missing");
            }
            return state;
        } catch (IOException | SnapshotFormatException e) {
            throw new EngineException(EngineException.Kind.VM_FAILED, "the snapshot in " + dir + " cannot be"
                    + " restored: " + e.getMessage(), e);
        }
    }

    /**
     * Builds a VM from the snapshot in {@code dir} (its RAM mapped copy-on-write from there) under {@code spec}'s
     * name and reconnects to the agent. A {@code clone} (of a template) also gets its own hostname; every restored
     * VM gets the current time and fresh entropy. Its NIC goes on {@code network} (null: unplugged), which the VM
     * owns from here on, closed on every failure.
     */
    KvmSandbox.Live restoreFrom(Path dir, SandboxSpec spec, boolean clone, NetBackend network) {
        Steps steps = new Steps();
        MicrovmSnapshot state;
        try {
            state = read(dir, spec);
        } catch (RuntimeException | Error e) {
            closeQuietly(network, e);
            throw e;
        }
        steps.done("read");
        MemoryImage image = state.memory();
        DeltaRuns mapped;
        try { // before anything else is opened: a damaged delta leaves only the NIC to close
            mapped = mappedDelta(dir, image, state.memoryBytes(), steps);
        } catch (RuntimeException e) {
            closeQuietly(network, e);
            throw new EngineException(EngineException.Kind.VM_FAILED, "restoring " + spec.id() + " from " + dir
                    + " failed: " + e.getMessage(), e);
        } catch (Error e) {
            closeQuietly(network, e);
            throw e;
        }
        OverlayDisk disk;
        try {
            disk = openDisk(state, spec, clone);
        } catch (RuntimeException | Error e) {
            closeQuietly(network, e);
            throw e;
        }
        if (disk != null) {
            steps.done("disk");
        }
        Microvm vm;
        try {
            vm = MicrovmBuilder.restore(kvm, new MicrovmBuilder.RestoreRequest(spec.id(), state, image.base(), mapped,
                    supportedCpuid, ram -> applyDelta(dir, image, mapped, ram), network, disk));
            vm.setMemoryBase(image.withDelta("", 0, 0));
            steps.done("build");
        } catch (RuntimeException e) {
            if (clone && disk != null) {
                RootDisks.removeQuietly(folder(spec.id()), e);
            }
            throw new EngineException(EngineException.Kind.VM_FAILED, "restoring " + spec.id() + " from " + dir
                    + " failed: " + e.getMessage(), e);
        }
        try {
            vm.start();
            vm.transports().forEach(MmioTransport::kickQueues); // as Firecracker does on resume
            AgentClient agent = state.agent() != null ? takeUp(vm, state.agent()).orElse(null) : null;
            if (agent != null) {
                steps.done("agent kept");
            } else { // a snapshot that kept no connection: the guest's sockets are stale, reset and connect anew
                vm.vsock().sendTransportReset();
                if (!vm.vsock().awaitTransportResetHandled(RESET_TIMEOUT)) {
                    LOG.log(System.Logger.Level.WARNING, "{0}: the guest did not acknowledge the vsock transport"
                            + " reset in {1}; connecting anyway", spec.id(), RESET_TIMEOUT);
                }
                steps.done("reset");
                agent = AgentConnector.connect(vm, System.nanoTime() + agentTimeout.toNanos(),
                        AgentClient.DEFAULT_TIMEOUT);
                steps.done("agent");
            }
            KvmSandbox.Live live = new KvmSandbox.Live(vm, agent);
            if (agent.protocolVersion() >= AgentCodec.IDENTITY_VERSION) {
                identify(agent, clone ? spec.id() : "");
            } else { // an agent from before IDENTITY, kept in the memory image of a sandbox paused before it
                if (clone) {
                    rename(agent, spec.id());
                }
                resync(agent);
            }
            steps.done("resync");
            LOG.log(System.Logger.Level.INFO, "restored {0} from {1}: {2}", spec.id(), dir, steps);
            return live;
        } catch (AgentConnector.NotReady | InterruptedException | RuntimeException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            try {
                vm.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            if (clone && disk != null) {
                RootDisks.removeQuietly(folder(spec.id()), e);
            }
            throw new EngineException(EngineException.Kind.VM_FAILED, "the agent of " + spec.id()
                    + " did not come back after restoring: " + e.getMessage(), e);
        }
    }

    /** The agent's kept connection taken up as {@code session} says; empty if the device has no such stream. */
    private static Optional<AgentClient> takeUp(Microvm vm, AgentClient.Session session) {
        try {
            return Optional.of(AgentClient.resume(vm.vsock().reattach(AgentCodec.VSOCK_PORT),
                    AgentClient.DEFAULT_TIMEOUT, session));
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "{0}: the kept agent connection cannot be taken up ({1});"
                    + " connecting anew", vm.name(), e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * The root disk of a disk template's VM, or null: a sandbox's own overlay chain as its snapshot names it (checked
     * against what the pause recorded), or for a clone a new top overlay in its folder over the template's chain.
     * A damaged or missing layer is refused here, before any VM work.
     */
    private OverlayDisk openDisk(MicrovmSnapshot state, SandboxSpec spec, boolean clone) {
        if (state.disk() == null) {
            return null;
        }
        try {
            return clone ? RootDisks.clone(state.disk(), folder(spec.id())) : OverlayDisk.open(state.disk());
        } catch (DiskStateException e) {
            throw new EngineException(EngineException.Kind.VM_FAILED, "the snapshot of " + spec.id()
                    + " cannot be restored: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new EngineException(EngineException.Kind.VM_FAILED, "opening the root disk of " + spec.id()
                    + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * The snapshot's delta, checked (its whole checksum read through) and ready to map over the base; null if there
     * is none, or if it is of the first format, which {@link #applyDelta} copies in instead.
     */
    private static DeltaRuns mappedDelta(Path dir, MemoryImage image, long memoryBytes, Steps steps) {
        if (!image.hasDelta()) {
            return null;
        }
        Path file = dir.resolve(image.delta());
        try {
            if (!DeltaFile.isMapped(file)) {
                return null;
            }
            DeltaRuns runs = DeltaFile.verify(file, new MemoryFile.Delta(image.deltaPages(), image.deltaCrc()),
                    memoryBytes);
            steps.done("verify delta (%d pages, %d runs)".formatted(image.deltaPages(), runs.runs().size()));
            return runs;
        } catch (IOException e) {
            throw new UncheckedIOException("reading the memory delta failed: " + e.getMessage(), e);
        }
    }

    /** Copies a delta of the first format into the RAM; a mapped delta is already there. */
    private static void applyDelta(Path dir, MemoryImage image, DeltaRuns mapped, MemorySegment ram) {
        if (!image.hasDelta() || mapped != null) {
            return;
        }
        try {
            MemoryFile.applyDelta(dir.resolve(image.delta()), new MemoryFile.Delta(image.deltaPages(),
                    image.deltaCrc()), ram);
        } catch (IOException e) {
            throw new UncheckedIOException("reading the memory delta failed: " + e.getMessage(), e);
        }
    }

    /**
     * Hostname (a clone's: it boots with its template's), clock and entropy in one IDENTITY request, served by the
     * agent without a fork; {@code hostname} "" (a plain resume) keeps the guest's. As {@link #resync}, a clock the
     * agent did not set is a failure; so is a hostname it did not set.
     */
    void identify(AgentClient agent, String hostname) {
        byte[] seed = new byte[64];
        random.nextBytes(seed);
        AgentClient.IdentitySet set = agent.identity(hostname, Instant.now(), seed);
        if (!set.clockSet()) {
            throw new IllegalStateException("the agent did not set the guest clock");
        }
        if (!hostname.isEmpty() && !set.hostnameSet()) {
            throw new IllegalStateException("the agent did not set the hostname");
        }
    }

    /** A clone boots with its template's hostname; the id is valid as a hostname (SpecLimits checked it). */
    private static void rename(AgentClient agent, String hostname) {
        ExecResult r = agent.exec(ExecRequest.of("hostname", hostname).withTimeout(SYNC_TIMEOUT));
        if (r.exitCode() != 0) {
            throw new IllegalStateException("setting the hostname failed: " + r.stderrText());
        }
    }

    /**
     * The guest's wall clock stood still while paused, and its RNG state is a copy of the one before: the agent sets
     * the one (CLOCK) and adds fresh host randomness to the other (ENTROPY, credited, RNDADDENTROPY).
     */
    private void resync(AgentClient agent) {
        byte[] seed = new byte[64];
        random.nextBytes(seed);
        if (!agent.syncClock().applied()) {
            throw new IllegalStateException("the agent did not set the guest clock");
        }
        agent.addEntropy(seed);
    }

    boolean exists(String id) {
        return Files.isRegularFile(folder(id).resolve(STATE_FILE));
    }

    /** The sandbox ids that have a snapshot folder here (one holding our files: nothing else is ever touched). */
    List<String> ids() {
        if (!Files.isDirectory(dataDir)) {
            return List.of();
        }
        try (Stream<Path> dirs = Files.list(dataDir)) {
            return dirs.filter(Files::isDirectory)
                    .filter(d -> Stream.of(STATE_FILE, MEMORY_FILE, STATE_FILE + ".tmp", MEMORY_FILE + ".tmp",
                                    Manifest.FILE, RootDisks.TOP)
                            .anyMatch(f -> Files.exists(d.resolve(f))) || hasDelta(d))
                    .map(p -> p.getFileName().toString()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + dataDir + " failed", e);
        }
    }

    private static boolean hasDelta(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.anyMatch(f -> f.getFileName().toString().startsWith("delta-"));
        } catch (IOException e) {
            return false;
        }
    }

    /** The specs in the manifests of the snapshot folders here; folders without a readable one are logged. */
    List<SandboxSpec> specsOnDisk() {
        List<SandboxSpec> specs = new ArrayList<>();
        for (String id : ids()) {
            try {
                SandboxSpec spec = Manifest.read(folder(id));
                if (spec.id().equals(id) && exists(id)) {
                    specs.add(spec);
                } else {
                    LOG.log(System.Logger.Level.WARNING, "snapshot folder {0}: manifest names {1} or no vmstate",
                            id, spec.id());
                }
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "snapshot folder {0} has no readable manifest: {1}", id,
                        e.toString());
            }
        }
        return specs;
    }

    /** Moves the sandbox's snapshot folder under {@code quarantine/} (kept for an operator); returns where. */
    Path quarantine(String id) {
        Path from = folder(id);
        try {
            Path dir = Files.createDirectories(dataDir.resolve(QUARANTINE_DIR));
            Path to = dir.resolve(id + "-" + System.currentTimeMillis());
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
            LOG.log(System.Logger.Level.WARNING, "snapshot folder {0} belongs to no sandbox: moved to {1}", from, to);
            return to;
        } catch (IOException e) {
            throw new UncheckedIOException("moving " + from + " to quarantine failed", e);
        }
    }

    /** Removes the sandbox's snapshot folder, if any. */
    void delete(String id) {
        deleteTree(folder(id));
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("removing " + dir + " failed", e);
        }
    }

    private static void closeQuietly(NetBackend network, Throwable primary) {
        if (network != null) {
            try {
                network.close();
            } catch (Exception e) {
                primary.addSuppressed(e);
            }
        }
    }
}
