package dev.sandbox.engine.vmm;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.PoolGate;
import dev.sandbox.engine.PoolShape;
import dev.sandbox.engine.Sandbox;
import dev.sandbox.engine.NetworkSpec;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.engine.TemplateInfo;
import dev.sandbox.engine.TemplateRecipe;
import dev.sandbox.engine.templates.TemplateCatalog;
import dev.sandbox.engine.templates.TemplateSource;
import dev.sandbox.engine.vmm.devices.virtio.blk.OverlayDisk;
import dev.sandbox.engine.net.HostNetworking;
import dev.sandbox.engine.net.NetConfig;
import dev.sandbox.engine.vmm.snapshot.Manifest;
import dev.sandbox.engine.vmm.snapshot.SnapshotFormatException;
import dev.sandbox.engine.agent.AgentClient;
import dev.sandbox.engine.vmm.arch.CpuidEntry;
import dev.sandbox.engine.vmm.builder.MicrovmBuilder;
import dev.sandbox.engine.vmm.builder.SpecLimits;
import dev.sandbox.engine.vmm.vstate.ExitCounts;
import dev.sandbox.engine.vmm.vstate.KvmTypes;
import dev.sandbox.ffi.NativeException;
import dev.sandbox.ffi.kvm.Kvm;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;

/**
 * The KVM-backed {@link Engine}: one {@code /dev/kvm} fd, the guest kernel read once, and the sandboxes it created.
 * {@link #create} builds a microVM, starts it and returns once the guest agent completed its handshake over vsock.
 */
public final class KvmEngine implements Engine {
    /** Present when /dev/kvm is the paravirtual kvm_pvm, which runs small guests but cannot boot Linux. */
    static final Path KVM_PVM_MODULE = Path.of("/sys/module/kvm_pvm");
    static final String KERNEL_FILE = "vmlinux";
    static final int CONSOLE_TAIL_LINES = 40;
    /** Not a valid sandbox id (ids start with a letter or digit), so never a sandbox's snapshot folder. */
    static final String TEMPLATES_DIR = ".templates";
    /** Custom templates' images and build records; as above, never a sandbox's folder. */
    static final String IMAGES_DIR = ".images";

    private final EngineConfig config;
    private final Kvm kvm;
    private final List<CpuidEntry> supportedCpuid;
    private final MemorySegment kernel;
    private final Snapshots snapshots;
    private final Map<Path, MemorySegment> initrds = new ConcurrentHashMap<>();
    private final Map<String, KvmSandbox> sandboxes = new ConcurrentHashMap<>();
    /** Names taken, including sandboxes still booting. */
    private final Set<String> ids = ConcurrentHashMap.newKeySet();
    private final Map<Path, Object> templateLocks = new ConcurrentHashMap<>();
    private volatile boolean closed;
    private final Templates templates;
    private final TemplateCatalog catalog;
    /** The templates of creates in progress, which a template delete must see as users. */
    private final Map<Object, String> creating = new ConcurrentHashMap<>();
    /** Clones restored ahead of time, handed out by create (see configurePool). */
    private final WarmPool<Pooled> pool = new WarmPool<>(this::makePooled);
    /** Sandbox networking, set up on the first sandbox that asks for a network; null before. */
    private HostNetworking networking;
    private static final System.Logger LOG = System.getLogger(KvmEngine.class.getName());
    /** Bounds for unused templates of today's guest image: count and disk bytes. */
    static final int MAX_TEMPLATES = 8;
    static final long MAX_TEMPLATE_BYTES = 8L << 30;

    private KvmEngine(EngineConfig config, Kvm kvm, List<CpuidEntry> supportedCpuid, MemorySegment kernel) {
        this.config = config;
        this.kvm = kvm;
        this.supportedCpuid = supportedCpuid;
        this.kernel = kernel;
        this.snapshots = new Snapshots(kvm, config.dataDir(), supportedCpuid, config.bootTimeout());
        this.templates = new Templates(config.dataDir().resolve(TEMPLATES_DIR), config.dataDir(), MAX_TEMPLATES,
                MAX_TEMPLATE_BYTES, this::mappedBases);
        this.catalog = new TemplateCatalog(config.guestDir(), config.dataDir().resolve(IMAGES_DIR));
        pruneTemplates();
    }

    public static Engine open(EngineConfig config) {
        if (Files.exists(KVM_PVM_MODULE)) {
            throw new EngineException(EngineException.Kind.CONFIG, "/dev/kvm here is the paravirtual kvm_pvm, which"
                    + " cannot boot a Linux guest (it fails on XRSTOR during FPU setup): run inside tools/kvmhost");
        }
        if (!Kvm.isPresent()) {
            throw new EngineException(EngineException.Kind.CONFIG, "no usable /dev/kvm on this host");
        }
        Path kernelFile = config.guestDir().resolve(KERNEL_FILE);
        MemorySegment kernel;
        try {
            kernel = MemorySegment.ofArray(Files.readAllBytes(kernelFile)).asReadOnly();
            Files.createDirectories(config.dataDir());
        } catch (IOException e) {
            throw new EngineException(EngineException.Kind.CONFIG, "cannot read the guest kernel " + kernelFile
                    + " or create " + config.dataDir() + ": " + e, e);
        }
        Kvm kvm;
        try {
            kvm = Kvm.open();
        } catch (NativeException e) {
            throw new EngineException(EngineException.Kind.CONFIG, "cannot open /dev/kvm: " + e.getMessage(), e);
        }
        try {
            return new KvmEngine(config, kvm, KvmTypes.fromKvm(kvm.supportedCpuid()), kernel);
        } catch (RuntimeException e) {
            kvm.close();
            throw new EngineException(EngineException.Kind.CONFIG, "KVM is not usable: " + e.getMessage(), e);
        }
    }

    @Override
    public EngineConfig config() {
        return config;
    }

    @Override
    public Sandbox create(SandboxSpec spec) {
        if (closed) {
            throw new EngineException(EngineException.Kind.INVALID_STATE, "the engine is closed");
        }
        SpecLimits.check(config, spec);
        // counted as a user of its template before the name is resolved, so a delete either sees it or wins first
        Object creation = new Object();
        creating.put(creation, spec.template());
        try {
            return createResolved(spec);
        } finally {
            creating.remove(creation);
        }
    }

    private KvmSandbox createResolved(SandboxSpec spec) {
        TemplateSource source = catalog.resolve(spec.template());
        long diskBytes = RootDisks.capacity(spec, source);
        if (source instanceof TemplateSource.Disk && snapshots.exists(spec.id())) {
            // its disk would go where the paused sandbox's is
            throw new EngineException(EngineException.Kind.INVALID_STATE, "a paused snapshot named " + spec.id()
                    + " is on disk: recover it or remove it first");
        }
        if (!ids.add(spec.id())) {
            throw new EngineException(EngineException.Kind.INVALID_SPEC, "a sandbox named " + spec.id() + " exists");
        }
        SandboxNet net = null;
        try {
            KvmSandbox pooled = config.templates() ? fromPool(spec) : null;
            if (pooled != null) {
                sandboxes.put(spec.id(), pooled);
                return pooled;
            }
            net = spec.network() == null ? null : SandboxNet.allocate(networking(), spec.network());
            KvmSandbox sandbox = config.templates() ? fromTemplate(spec, source, diskBytes, net)
                    : boot(spec, source, diskBytes, snapshots.folder(spec.id()), net);
            sandboxes.put(spec.id(), sandbox);
            return sandbox;
        } catch (RuntimeException | Error e) {
            ids.remove(spec.id());
            if (net != null) {
                try {
                    net.release();
                } catch (RuntimeException failure) {
                    e.addSuppressed(failure);
                }
            }
            throw e;
        }
    }

    /**
     * Sets sandbox networking up on first use, when no sandbox of this engine has a network yet: removes what a
     * dead engine left (namespaces, links, tables of our prefix), loads the global rules, and reserves the slots of
     * the paused sandboxes on disk, so their host addresses wait for them.
     */
    private synchronized HostNetworking networking() {
        if (networking != null) {
            return networking;
        }
        HostNetworking h = new HostNetworking(NetConfig.fromSystemProperties());
        int removed = h.cleanupLeftovers();
        if (removed > 0) {
            LOG.log(System.Logger.Level.WARNING, "removed {0} network leftovers of an earlier engine", removed);
        }
        h.setup();
        for (String id : snapshots.ids()) {
            try {
                OptionalInt slot = Manifest.netSlot(snapshots.folder(id));
                if (slot.isPresent() && !h.slots().isUsed(slot.getAsInt())) {
                    h.slots().reserve(slot.getAsInt());
                }
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "cannot read the network slot of paused sandbox {0}: {1}", id,
                        e.getMessage());
            }
        }
        networking = h;
        return h;
    }

    /**
     * Boots {@code spec} from its template's initramfs, or from its disk image with a new top overlay in
     * {@code diskDir} (the sandbox's folder, or a template's while it is made), removed again if the boot fails.
     */
    private KvmSandbox boot(SandboxSpec spec, TemplateSource source, long diskBytes, Path diskDir, SandboxNet net) {
        long start = System.nanoTime();
        long deadline = start + config.bootTimeout().toNanos();
        Microvm vm;
        OverlayDisk disk = null;
        try {
            MemorySegment initrd = null;
            if (source instanceof TemplateSource.Disk image) {
                disk = RootDisks.create(image, diskDir, diskBytes);
            } else if (source instanceof TemplateSource.Initramfs initramfs) {
                initrd = initrd(initramfs.file());
            }
            vm = MicrovmBuilder.build(kvm, new MicrovmBuilder.Request(spec.id(), spec.vcpus(),
                    (long) spec.memoryMb() << 20, kernel, initrd, supportedCpuid,
                    net == null ? null : net.openBackend(), disk));
        } catch (RuntimeException e) {
            if (disk != null) {
                RootDisks.removeQuietly(diskDir, e);
            }
            if (e instanceof EngineException ee) {
                throw ee; // the network's own, with its message
            }
            throw new EngineException(EngineException.Kind.BOOT_FAILED, "building the microVM for " + spec.id()
                    + " failed: " + e.getMessage(), e);
        }
        try {
            vm.start();
            AgentClient agent = AgentConnector.connect(vm, deadline, AgentClient.DEFAULT_TIMEOUT);
            Duration bootTime = Duration.ofNanos(System.nanoTime() - start);
            return new KvmSandbox(spec, new KvmSandbox.Live(vm, agent), snapshots, bootTime, this::forget, net);
        } catch (AgentConnector.NotReady e) {
            String tail = lastLines(vm.console().tail(), CONSOLE_TAIL_LINES);
            closeAfterFailure(vm, e);
            if (disk != null) {
                RootDisks.removeQuietly(diskDir, e);
            }
            throw new EngineException(EngineException.Kind.BOOT_FAILED, "sandbox " + spec.id() + " did not boot in "
                    + config.bootTimeout() + ": " + e.getMessage() + "\n--- console tail ---\n" + tail, e);
        } catch (RuntimeException | Error e) {
            closeAfterFailure(vm, e);
            if (disk != null) {
                RootDisks.removeQuietly(diskDir, e);
            }
            throw e;
        }
    }

    /**
     * A clone of the template's snapshot at agent-ready: booted and snapshotted on first use (per template, vCPU
     * count, memory size, guest image and host), then restored with RAM mapped copy-on-write from the template's
     * memory file, which the page cache shares between clones. A restore that fails is tried once more; if that
     * fails too the sandbox boots, and the template is removed only if no paused or running sandbox needs its files
     * (the next create then makes it again).
     */
    private KvmSandbox fromTemplate(SandboxSpec spec, TemplateSource source, long diskBytes, SandboxNet net) {
        long start = System.nanoTime();
        Path dir = templateDir(spec, source, diskBytes);
        synchronized (templateLock(dir)) {
            if (!Files.isRegularFile(dir.resolve(Snapshots.STATE_FILE))) {
                makeTemplate(spec, source, diskBytes, dir);
                pruneTemplates();
            }
        }
        EngineException failed = null;
        for (int attempt = 1; attempt <= 2; attempt++) {
            try {
                KvmSandbox.Live live = snapshots.restoreFrom(dir, spec, true,
                        net == null ? null : net.openBackend());
                templates.touch(dir);
                return new KvmSandbox(spec, live, snapshots, Duration.ofNanos(System.nanoTime() - start),
                        this::forget, net);
            } catch (EngineException e) {
                LOG.log(System.Logger.Level.WARNING, "restoring " + spec.id() + " from template " + dir
                        + " failed (attempt " + attempt + " of 2)", e);
                if (failed == null) {
                    failed = e;
                } else {
                    failed.addSuppressed(e);
                }
            }
        }
        synchronized (templateLock(dir)) {
            if (templates.inUse(dir)) {
                LOG.log(System.Logger.Level.WARNING, "template {0} is suspect but kept: paused or running sandboxes"
                        + " need its memory file", dir);
            } else {
                LOG.log(System.Logger.Level.WARNING, "template {0} is suspect and no sandbox needs it: removed; the"
                        + " next create makes it again", dir);
                Snapshots.deleteTree(dir);
            }
        }
        return boot(spec, source, diskBytes, snapshots.folder(spec.id()), net);
    }

    /** A clone in the warm pool: its VM under the pool's name for it, and its network if the shape has one. */
    record Pooled(String entry, KvmSandbox.Live live, SandboxNet net, Path templateDir) implements AutoCloseable {
        @Override
        public void close() {
            try {
                live.agent().close();
                live.vm().close();
            } finally {
                if (net != null) {
                    net.release();
                }
            }
        }
    }

    /**
     * Restores one pool clone of {@code shape} from its template (made first if missing), named {@code entry}
     * until it is handed out; its network, if any, is allocated now, so a create that takes it does no VM or
     * network work.
     */
    private Pooled makePooled(PoolShape shape, String entry) {
        SandboxSpec spec = new SandboxSpec(entry, shape.template(), shape.vcpus(), shape.memoryMb(), shape.network());
        TemplateSource source = poolable(spec);
        Path dir = templateDir(spec, source, 0);
        synchronized (templateLock(dir)) {
            if (!Files.isRegularFile(dir.resolve(Snapshots.STATE_FILE))) {
                makeTemplate(spec, source, 0, dir);
                pruneTemplates();
            }
        }
        SandboxNet net = shape.network() == null ? null : SandboxNet.allocate(networking(), shape.network());
        try {
            KvmSandbox.Live live = snapshots.restoreFrom(dir, spec, true, net == null ? null : net.openBackend());
            return new Pooled(entry, live, net, dir);
        } catch (RuntimeException e) {
            if (net != null) {
                net.release();
            }
            throw e;
        }
    }

    /**
     * A pool clone of {@code spec}'s shape, made {@code spec}'s sandbox: its identity (hostname, clock, entropy) in
     * one agent message, nothing else on the request path. Null when the pool has none (or the clone broke while
     * it waited, then it is released).
     */
    private KvmSandbox fromPool(SandboxSpec spec) {
        PoolShape shape = PoolShape.of(spec);
        if (shape == null) {
            return null;
        }
        long start = System.nanoTime();
        Pooled p = pool.take(shape).orElse(null);
        if (p == null) {
            return null;
        }
        try {
            snapshots.identify(p.live().agent(), spec.id());
            templates.touch(p.templateDir());
            LOG.log(System.Logger.Level.INFO, "{0} is pool clone {1}", spec.id(), p.entry());
            return new KvmSandbox(spec, p.live(), snapshots, Duration.ofNanos(System.nanoTime() - start),
                    this::forget, p.net());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "pool clone " + p.entry() + " broke while it waited; released", e);
            p.close();
            return null;
        }
    }

    @Override
    public void configurePool(PoolShape shape, int size, Duration idle) {
        if (!config.templates()) {
            throw new EngineException(EngineException.Kind.CONFIG, "a warm pool needs templates (clones)");
        }
        poolable(new SandboxSpec("pool-check", shape.template(), shape.vcpus(), shape.memoryMb(),
                shape.network()));
        pool.configure(shape, size, idle);
    }

    /**
     * {@code spec}'s template, if the pool can serve it: within the limits, and an initramfs (a disk template's top
     * overlay lives in the sandbox's own folder, which a pooled clone does not have yet). Checked when a shape is
     * configured and again for every clone: the template may have changed since.
     */
    private TemplateSource poolable(SandboxSpec spec) {
        SpecLimits.check(config, spec);
        TemplateSource source = catalog.resolve(spec.template());
        if (!(source instanceof TemplateSource.Initramfs)) {
            throw new EngineException(EngineException.Kind.CONFIG, "the warm pool serves initramfs templates only;"
                    + " " + spec.template() + " boots from a disk");
        }
        return source;
    }

    @Override
    public void poolGate(PoolGate gate) {
        pool.gate(gate);
    }

    @Override
    public Map<PoolShape, Integer> pooled() {
        return pool.ready();
    }

    /** For tests and benchmarks: waits until every configured pool shape is full. */
    public boolean awaitPoolFull(Duration timeout) throws InterruptedException {
        return pool.awaitFull(timeout);
    }

    private Object templateLock(Path dir) {
        return templateLocks.computeIfAbsent(dir, d -> new Object());
    }

    /** Removes the templates no sandbox needs that are of another guest image or host, or beyond the bounds. */
    private void pruneTemplates() {
        try {
            templates.prune(this::isCurrentTemplate);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "pruning templates failed", e);
        }
    }

    /** Whether {@code dir} is what {@link #templateDir} makes today for its template, size and count. */
    private boolean isCurrentTemplate(Path dir) {
        Matcher m = Templates.NAME.matcher(dir.getFileName().toString());
        if (!m.matches()) {
            return false;
        }
        TemplateSource source;
        try {
            source = catalog.resolve(m.group(1));
        } catch (EngineException e) {
            return false; // gone, or rebuilt and not ready
        }
        SandboxSpec spec = new SandboxSpec("x", m.group(1), Integer.parseInt(m.group(2)),
                Integer.parseInt(m.group(3)));
        long diskBytes = m.group(4) == null ? 0 : Long.parseLong(m.group(4)) << 20;
        if ((diskBytes == 0) != (source instanceof TemplateSource.Initramfs)) {
            return false;
        }
        return templateDir(spec, source, diskBytes).getFileName().equals(dir.getFileName());
    }

    private void makeTemplate(SandboxSpec spec, TemplateSource source, long diskBytes, Path dir) {
        SandboxSpec templateSpec = new SandboxSpec("template-" + spec.template(), spec.template(), spec.vcpus(),
                spec.memoryMb());
        // its NIC unplugged (clones get a TAP); a disk's top overlay in the template's folder, its clones' lower
        KvmSandbox booted = boot(templateSpec, source, diskBytes, dir, null);
        KvmSandbox.Live live = booted.detach();
        try {
            Snapshots.Saved saved = snapshots.saveTo(dir, null, live);
            System.getLogger(KvmEngine.class.getName()).log(System.Logger.Level.INFO, "template {0} made after a"
                    + " {1} ms boot: {2}", dir.getFileName(), booted.bootTime().toMillis(), saved);
        } catch (RuntimeException e) {
            KvmSandbox.Live left = e instanceof Snapshots.SaveFailed f ? f.revived : live;
            try {
                if (left != null) {
                    left.agent().close();
                    left.vm().close();
                }
            } finally {
                Snapshots.deleteTree(dir); // only the template's own, unfinished files: nothing else uses them yet
            }
            throw new EngineException(EngineException.Kind.BOOT_FAILED, "snapshotting the template for "
                    + spec.id() + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * One folder per template, size, guest image and device set: a rebuilt kernel or initramfs, or a VMM with other
     * devices, makes new templates.
     */
    private Path templateDir(SandboxSpec spec, TemplateSource source, long diskBytes) {
        Path image = switch (source) {
            case TemplateSource.Initramfs i -> i.file();
            case TemplateSource.Disk d -> d.image();
        };
        long fingerprint;
        try {
            Path kernelFile = config.guestDir().resolve(KERNEL_FILE);
            fingerprint = Objects.hash(kernelFile.toRealPath().toString(), Files.size(kernelFile),
                    Files.getLastModifiedTime(kernelFile), image.toRealPath().toString(), Files.size(image),
                    Files.getLastModifiedTime(image), snapshots.hostFingerprint(), MicrovmBuilder.MACHINE_VERSION,
                    diskBytes);
        } catch (IOException e) {
            throw new EngineException(EngineException.Kind.CONFIG, "cannot read the guest image: " + e, e);
        }
        String disk = diskBytes == 0 ? "" : "-%ddisk".formatted(diskBytes >> 20);
        return config.dataDir().resolve(TEMPLATES_DIR).resolve("%s-%dcpu-%dmb%s-%08x".formatted(spec.template(),
                spec.vcpus(), spec.memoryMb(), disk, fingerprint));
    }

    private Set<Path> mappedBases() {
        Set<Path> bases = new HashSet<>();
        for (KvmSandbox s : sandboxes.values()) {
            bases.addAll(s.filesInUse());
        }
        for (Pooled p : pool.clones()) {
            if (p.live().vm().memoryBase() != null) {
                bases.add(p.live().vm().memoryBase().base());
            }
        }
        return bases;
    }

    private void forget(KvmSandbox sandbox) {
        if (sandboxes.remove(sandbox.id(), sandbox)) {
            ids.remove(sandbox.id());
        }
    }

    private MemorySegment initrd(Path file) {
        return initrds.computeIfAbsent(file, f -> {
            try {
                return MemorySegment.ofArray(Files.readAllBytes(f)).asReadOnly();
            } catch (IOException e) {
                throw new EngineException(EngineException.Kind.CONFIG, "cannot read " + f + ": " + e, e);
            }
        });
    }

    @Override
    public Optional<Sandbox> recover(SandboxSpec spec) {
        if (closed) {
            throw new EngineException(EngineException.Kind.INVALID_STATE, "the engine is closed");
        }
        SpecLimits.check(config, spec);
        if (!snapshots.exists(spec.id())) {
            return Optional.empty();
        }
        if (!ids.add(spec.id())) {
            throw new EngineException(EngineException.Kind.INVALID_SPEC, "a sandbox named " + spec.id() + " exists");
        }
        try {
            SandboxNet net = recoveredNetwork(spec.id());
            KvmSandbox sandbox = new KvmSandbox(net == null ? spec : spec.withNetwork(net.network().spec()), null,
                    snapshots, Duration.ZERO, this::forget, net);
            sandboxes.put(spec.id(), sandbox);
            return Optional.of(sandbox);
        } catch (RuntimeException | Error e) {
            ids.remove(spec.id());
            throw e;
        }
    }

    /** A paused sandbox's network as its manifest says (policy and slot), or null if it had none. */
    private SandboxNet recoveredNetwork(String id) {
        Path dir = snapshots.folder(id);
        try {
            OptionalInt slot = Manifest.netSlot(dir);
            NetworkSpec policy = Manifest.read(dir).network();
            if (slot.isEmpty() || policy == null) {
                return null;
            }
            HostNetworking h = networking();
            if (!h.slots().isUsed(slot.getAsInt())) {
                h.slots().reserve(slot.getAsInt());
            }
            return SandboxNet.reserved(h, slot.getAsInt(), policy);
        } catch (IOException | SnapshotFormatException e) {
            throw new EngineException(EngineException.Kind.VM_FAILED, "the manifest of paused sandbox " + id
                    + " cannot be read: " + e.getMessage(), e);
        }
    }

    @Override
    public List<SandboxSpec> snapshotsOnDisk() {
        return snapshots.specsOnDisk();
    }

    @Override
    public List<String> quarantineUnclaimed() {
        List<String> moved = new ArrayList<>();
        for (String id : snapshots.ids()) {
            if (!ids.contains(id)) {
                snapshots.quarantine(id);
                moved.add(id);
            }
        }
        return moved;
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
        if (closed) {
            throw new EngineException(EngineException.Kind.INVALID_STATE, "the engine is closed");
        }
        return catalog.start(recipe, new VmTemplateBuilder(spec -> (KvmSandbox) create(spec), config.maxVcpus()));
    }

    /** A custom template goes only when no sandbox, running or paused (on disk too), was made from it. */
    @Override
    public void deleteTemplate(String name) {
        catalog.delete(name, this::templateInUse);
        pruneTemplates(); // its template snapshots, which nothing can use any more
    }

    private boolean templateInUse(String name) {
        return creating.containsValue(name) || sandboxes.values().stream().anyMatch(s -> s.spec().template().equals(name))
                || snapshots.specsOnDisk().stream().anyMatch(s -> s.template().equals(name));
    }

    @Override
    public Optional<Sandbox> find(String id) {
        return Optional.ofNullable(sandboxes.get(id));
    }

    @Override
    public Collection<Sandbox> sandboxes() {
        return List.copyOf(sandboxes.values());
    }

    @Override
    public void close() {
        closed = true;
        List<RuntimeException> failures = new ArrayList<>();
        try {
            catalog.close(); // first: a build's sandbox is among those released below
        } catch (RuntimeException e) {
            failures.add(e);
        }
        try {
            pool.close(); // before the networking its clones hold slots of
        } catch (RuntimeException e) {
            failures.add(e);
        }
        for (KvmSandbox s : List.copyOf(sandboxes.values())) {
            try {
                s.release();
            } catch (RuntimeException e) {
                failures.add(e);
            }
        }
        kvm.close();
        if (!failures.isEmpty()) {
            throw new EngineException(EngineException.Kind.VM_FAILED, "closing sandboxes failed", failures.getFirst());
        }
    }

    static String lastLines(String text, int lines) {
        int at = text.length();
        for (int i = 0; i < lines && at > 0; i++) {
            at = text.lastIndexOf('\n', at - 2) + 1;
            if (at == 0) {
                break;
            }
        }
        return text.substring(at);
    }

    private static void closeAfterFailure(Microvm vm, Throwable primary) {
        try {
            vm.close();
        } catch (RuntimeException e) {
            primary.addSuppressed(e);
        }
    }

    @Override
    public Map<String, Long> vmExits() {
        return ExitCounts.snapshot();
    }
}
