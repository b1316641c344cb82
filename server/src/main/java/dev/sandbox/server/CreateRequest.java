package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.NetworkSpec;
import dev.sandbox.engine.SandboxSpec;

import java.util.regex.Pattern;

/**
 * A validated {@code CreateSandboxRequest}, defaults applied. {@code network} null: the sandbox gets none (the
 * request said {@code "network": null}, or left it out on a server without networking). {@code diskMb} 0: the
 * template's own disk size (the request left {@code disk_mb} out).
 */
record CreateRequest(String template, int vcpus, int memoryMb, int timeoutSec, NetworkSpec network, int diskMb) {

    static final String DEFAULT_TEMPLATE = "minimal";
    static final int DEFAULT_VCPUS = 1;
    static final int DEFAULT_MEMORY_MB = 512;
    static final int DEFAULT_TIMEOUT_SEC = 300;

    /** A template names files in the guest folder: no slashes, no dot-dot, nothing odd. */
    private static final Pattern TEMPLATE = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");

    /**
     * Limits come from the engine's config, so the server and the engine agree on what fits. {@code networking}
     * false ({@code --network off}): a request that asks for a network is refused (501) rather than given none.
     */
    static CreateRequest parse(Fields f, EngineConfig limits, boolean networking) {
        String template = f.string("template").orElse(DEFAULT_TEMPLATE);
        int vcpus = f.integer("vcpus").orElse(DEFAULT_VCPUS);
        int memoryMb = f.integer("memory_mb").orElse(DEFAULT_MEMORY_MB);
        int timeoutSec = f.integer("timeout_sec").orElse(DEFAULT_TIMEOUT_SEC);
        int diskMb = f.integer("disk_mb").orElse(0);
        if (!TEMPLATE.matcher(template).matches() || template.contains("..")) {
            throw Fields.bad("unknown template '" + template + "'");
        }
        if (vcpus < 1 || vcpus > limits.maxVcpus()) {
            throw Fields.bad("vcpus must be 1.." + limits.maxVcpus() + ", got " + vcpus);
        }
        if (memoryMb < limits.minMemoryMb() || memoryMb > limits.maxMemoryMb()) {
            throw Fields.bad("memory_mb must be " + limits.minMemoryMb() + ".." + limits.maxMemoryMb()
                    + ", got " + memoryMb);
        }
        if (timeoutSec < 1) {
            throw Fields.bad("timeout_sec must be at least 1, got " + timeoutSec);
        }
        if (f.node().has("disk_mb") && (diskMb < 1 || diskMb > SandboxSpec.MAX_DISK_MB)) {
            throw Fields.bad("disk_mb must be 1.." + SandboxSpec.MAX_DISK_MB + ", got " + diskMb);
        }
        return new CreateRequest(template, vcpus, memoryMb, timeoutSec, network(f.node().get("network"), networking),
                diskMb);
    }

    private static NetworkSpec network(JsonNode v, boolean networking) {
        if (v == null) {
            return networking ? NetworkSpec.DEFAULT : null;
        }
        if (v.isNull()) {
            return null;
        }
        NetworkSpec spec = NetworkPolicy.parse(v);  // a malformed one is a 400 either way
        if (!networking) {
            throw ApiError.NOT_IMPLEMENTED.exception("this server runs without sandbox networking (--network off):"
                    + " leave network out, or send \"network\": null");
        }
        return spec;
    }
}
