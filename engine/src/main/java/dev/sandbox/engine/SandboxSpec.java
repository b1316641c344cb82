package dev.sandbox.engine;

import java.util.Objects;

/**
 * What to create.
 *
 * @param id       the caller's name for it (the server uses {@code sb-<hex>}); also the guest's hostname
 * @param template a template in the guest folder ({@code minimal} today)
 * @param vcpus    1..{@link EngineConfig#maxVcpus()}
 * @param memoryMb {@link EngineConfig#minMemoryMb()}..{@link EngineConfig#maxMemoryMb()}
 */
public record SandboxSpec(String id, String template, int vcpus, int memoryMb) {

    public SandboxSpec {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(template, "template");
    }
}
