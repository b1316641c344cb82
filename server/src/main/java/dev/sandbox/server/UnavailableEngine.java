package dev.sandbox.server;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.Sandbox;
import dev.sandbox.engine.SandboxSpec;

import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Stands in for an engine that failed to open (no usable /dev/kvm, no guest): the server still starts, answers
 * reads, and fails each create with the reason, which /health reports too.
 */
record UnavailableEngine(EngineConfig config, String reason) implements Engine {

    static UnavailableEngine because(Path dataDir, String reason) {
        return new UnavailableEngine(EngineConfig.defaults(dataDir, Path.of("")), reason);
    }

    @Override
    public Sandbox create(SandboxSpec spec) {
        throw new EngineException(EngineException.Kind.CONFIG, "engine unavailable: " + reason);
    }

    @Override
    public Optional<Sandbox> find(String id) {
        return Optional.empty();
    }

    @Override
    public Collection<Sandbox> sandboxes() {
        return List.of();
    }

    @Override
    public void close() {
    }
}
