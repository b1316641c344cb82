package dev.sandbox.engine;

import java.util.Collection;
import java.util.Optional;

/**
 * The embeddable entry point: open one per process, create sandboxes from it, close it to destroy them all.
 * <pre>{@code
 * try (Engine engine = Engine.open(EngineConfig.defaults(dataDir, guestDir));
 *      Sandbox sb = engine.create(new SandboxSpec("sb-1", "minimal", 1, 256))) {
 *     ExecResult r = sb.exec(ExecRequest.shell("echo hello"));
 * }
 * }</pre>
 */
public interface Engine extends AutoCloseable {

    /** Opens the KVM engine: checks /dev/kvm and the guest folder, fails with {@link EngineException} if unusable. */
    static Engine open(EngineConfig config) {
        return dev.sandbox.engine.vmm.KvmEngine.open(config);
    }

    EngineConfig config();

    /** Boots a sandbox and returns once its agent answers. */
    Sandbox create(SandboxSpec spec);

    Optional<Sandbox> find(String id);

    Collection<Sandbox> sandboxes();

    @Override
    void close();
}
