package dev.sandbox.engine.vmm.builder;

import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.engine.vmm.arch.Layout;
import dev.sandbox.engine.vmm.arch.MpTable;

import java.util.regex.Pattern;

/**
 * Checks a {@link SandboxSpec} against the engine's limits; violations are INVALID_SPEC. Whether its template exists
 * (and takes a disk size) is the template catalog's to say.
 */
public final class SpecLimits {
    /** Guest RAM must end below the 32-bit MMIO gap (no RAM above 4 GiB yet). */
    public static final int MAX_MEMORY_MB = (int) (Layout.MMIO_GAP_START >>> 20);
    private static final Pattern TEMPLATE = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");

    private SpecLimits() {
    }

    /** Validates {@code spec}'s bounds and names. */
    public static void check(EngineConfig config, SandboxSpec spec) {
        if (!BootCommandLine.validHostname(spec.id())) {
            throw invalid("id must be 1..64 characters of [A-Za-z0-9.-], starting with a letter or digit: '" + spec.id() + "'");
        }
        int maxVcpus = Math.min(config.maxVcpus(), MpTable.MAX_CPUS);
        if (spec.vcpus() < 1 || spec.vcpus() > maxVcpus) {
            throw invalid("vcpus must be 1.." + maxVcpus + ", not " + spec.vcpus());
        }
        int maxMemory = Math.min(config.maxMemoryMb(), MAX_MEMORY_MB);
        if (spec.memoryMb() < config.minMemoryMb() || spec.memoryMb() > maxMemory) {
            throw invalid("memoryMb must be " + config.minMemoryMb() + ".." + maxMemory + ", not " + spec.memoryMb());
        }
        if (!TEMPLATE.matcher(spec.template()).matches()) {
            throw invalid("bad template name '" + spec.template() + "'");
        }
        if (spec.diskMb() > SandboxSpec.MAX_DISK_MB) {
            throw invalid("diskMb must be at most " + SandboxSpec.MAX_DISK_MB + ", not " + spec.diskMb());
        }
    }

    private static EngineException invalid(String message) {
        return new EngineException(EngineException.Kind.INVALID_SPEC, message);
    }
}
