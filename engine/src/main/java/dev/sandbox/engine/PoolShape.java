package dev.sandbox.engine;

import java.util.Objects;

/**
 * The sandboxes a warm pool serves: a create gets a pooled clone only when its template, vCPUs, memory and network
 * (null: none; a policy: the same policy) are exactly these, and it asks for no disk size of its own.
 */
public record PoolShape(String template, int vcpus, int memoryMb, NetworkSpec network) {
    public PoolShape {
        Objects.requireNonNull(template, "template");
        if (vcpus < 1 || memoryMb < 1) {
            throw new IllegalArgumentException("a pool shape needs vCPUs and memory: " + vcpus + ", " + memoryMb);
        }
    }

    /** The shape of {@code spec}'s sandbox, or null if no pool can serve it (a disk size of its own). */
    public static PoolShape of(SandboxSpec spec) {
        return spec.diskMb() != 0 ? null : new PoolShape(spec.template(), spec.vcpus(), spec.memoryMb(),
                spec.network());
    }

    @Override
    public String toString() {
        return template + ":" + vcpus + ":" + memoryMb + (network == null ? "" : ":net");
    }
}
