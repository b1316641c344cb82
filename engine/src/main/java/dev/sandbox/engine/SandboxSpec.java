package dev.sandbox.engine;

import java.util.Objects;

/**
 * What to create.
 *
 * @param id       the caller's name for it (the server uses {@code sb-<hex>}); also the guest's hostname
 * @param template a template in the guest folder ({@code minimal} today)
 * @param vcpus    1..{@link EngineConfig#maxVcpus()}
 * @param memoryMb {@link EngineConfig#minMemoryMb()}..{@link EngineConfig#maxMemoryMb()}
 * @param network  its network and egress policy, or null for none (the guest's NIC stays unplugged)
 */
public record SandboxSpec(String id, String template, int vcpus, int memoryMb, NetworkSpec network) {

    public SandboxSpec {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(template, "template");
    }

    /** A sandbox without a network. */
    public SandboxSpec(String id, String template, int vcpus, int memoryMb) {
        this(id, template, vcpus, memoryMb, null);
    }

    public SandboxSpec withNetwork(NetworkSpec network) {
        return new SandboxSpec(id, template, vcpus, memoryMb, network);
    }
}
