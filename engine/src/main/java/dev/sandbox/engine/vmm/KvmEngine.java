package dev.sandbox.engine.vmm;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.Sandbox;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.engine.agent.AgentClient;
import dev.sandbox.engine.vmm.arch.CpuidEntry;
import dev.sandbox.engine.vmm.builder.MicrovmBuilder;
import dev.sandbox.engine.vmm.builder.SpecLimits;
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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The KVM-backed {@link Engine}: one {@code /dev/kvm} fd, the guest kernel read once, and the sandboxes it created.
 * {@link #create} builds a microVM, starts it and returns once the guest agent completed its handshake over vsock.
 */
public final class KvmEngine implements Engine {
    /** Present when /dev/kvm is the paravirtual kvm_pvm, which runs small guests but cannot boot Linux. */
    static final Path KVM_PVM_MODULE = Path.of("/sys/module/kvm_pvm");
    static final String KERNEL_FILE = "vmlinux";
    static final int CONSOLE_TAIL_LINES = 40;

    private final EngineConfig config;
    private final Kvm kvm;
    private final List<CpuidEntry> supportedCpuid;
    private final MemorySegment kernel;
    private final Map<Path, MemorySegment> initrds = new ConcurrentHashMap<>();
    private final Map<String, KvmSandbox> sandboxes = new ConcurrentHashMap<>();
    /** Names taken, including sandboxes still booting. */
    private final Set<String> ids = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private KvmEngine(EngineConfig config, Kvm kvm, List<CpuidEntry> supportedCpuid, MemorySegment kernel) {
        this.config = config;
        this.kvm = kvm;
        this.supportedCpuid = supportedCpuid;
        this.kernel = kernel;
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
        Path initramfs = SpecLimits.check(config, spec);
        if (!ids.add(spec.id())) {
            throw new EngineException(EngineException.Kind.INVALID_SPEC, "a sandbox named " + spec.id() + " exists");
        }
        try {
            KvmSandbox sandbox = boot(spec, initrd(initramfs));
            sandboxes.put(spec.id(), sandbox);
            return sandbox;
        } catch (RuntimeException | Error e) {
            ids.remove(spec.id());
            throw e;
        }
    }

    private KvmSandbox boot(SandboxSpec spec, MemorySegment initrd) {
        long start = System.nanoTime();
        long deadline = start + config.bootTimeout().toNanos();
        Microvm vm;
        try {
            vm = MicrovmBuilder.build(kvm, new MicrovmBuilder.Request(spec.id(), spec.vcpus(),
                    (long) spec.memoryMb() << 20, kernel, initrd, supportedCpuid));
        } catch (RuntimeException e) {
            throw new EngineException(EngineException.Kind.BOOT_FAILED, "building the microVM for " + spec.id()
                    + " failed: " + e.getMessage(), e);
        }
        try {
            vm.start();
            AgentClient agent = AgentConnector.connect(vm, deadline, AgentClient.DEFAULT_TIMEOUT);
            Duration bootTime = Duration.ofNanos(System.nanoTime() - start);
            return new KvmSandbox(spec, vm, agent, bootTime, this::forget);
        } catch (AgentConnector.NotReady e) {
            String tail = lastLines(vm.console().tail(), CONSOLE_TAIL_LINES);
            closeAfterFailure(vm, e);
            throw new EngineException(EngineException.Kind.BOOT_FAILED, "sandbox " + spec.id() + " did not boot in "
                    + config.bootTimeout() + ": " + e.getMessage() + "\n--- console tail ---\n" + tail, e);
        } catch (RuntimeException | Error e) {
            closeAfterFailure(vm, e);
            throw e;
        }
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
        for (Sandbox s : sandboxes()) {
            try {
                s.close();
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
}
