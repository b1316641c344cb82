package dev.sandbox.engine.vmm;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.EngineException;

/** The KVM-backed {@link Engine}. Not wired yet (issue 5): opening it fails loudly instead of pretending. */
public final class KvmEngine {

    private KvmEngine() {
    }

    public static Engine open(EngineConfig config) {
        throw new EngineException(EngineException.Kind.CONFIG, "the KVM engine is not implemented yet (issue 5)");
    }
}
