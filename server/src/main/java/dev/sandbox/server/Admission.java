package dev.sandbox.server;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Admission control against the host budget ({@link ServerConfig.Budget}): a sandbox holds a claim on memory and
 * vCPUs from its create or resume until it pauses, stops or fails. A create or resume that does not fit, or that
 * would leave the data dir with less free disk than snapshots need, is refused with 503 and {@code Retry-After}.
 * Claims are in memory only: after a restart nothing runs (paused sandboxes hold disk, not RAM).
 */
final class Admission {

    /** What a running or starting sandbox holds. */
    private record Claim(int vcpus, int memoryMb) {
    }

    /** One resource: how much is used and allowed. */
    record Usage(long used, long limit, long free) {
        static Usage of(long used, long limit) {
            return new Usage(used, limit, Math.max(0, limit - used));
        }
    }

    /** What /health reports. */
    record Capacity(Usage memoryMb, Usage vcpus, Usage sandboxes, long diskFreeMb, long diskMinFreeMb) {
    }

    private final Map<String, Claim> claims = new ConcurrentHashMap<>();
    private final long memoryLimitMb;
    private final long vcpuLimit;
    private final int sandboxLimit;
    private final long minFreeDiskMb;
    private final int retryAfterSec;
    private final Path dataDir;

    Admission(ServerConfig.Budget budget, Path dataDir) {
        long hostMb = budget.hostMemoryMb() > 0 ? budget.hostMemoryMb() : hostMemoryMb();
        this.memoryLimitMb = (long) Math.floor(hostMb * budget.memoryOvercommit());
        this.vcpuLimit = budget.maxVcpus() > 0 ? budget.maxVcpus()
                : 4L * Runtime.getRuntime().availableProcessors();
        this.sandboxLimit = budget.maxSandboxes();
        this.minFreeDiskMb = budget.minFreeDiskMb();
        this.retryAfterSec = budget.retryAfterSec();
        this.dataDir = dataDir;
    }

    /** Claims room for {@code id} or refuses with 503; a second claim for the same id replaces the first. */
    synchronized void claim(String id, int vcpus, int memoryMb) {
        claims.remove(id);
        long mem = 0;
        long cpus = 0;
        for (Claim c : claims.values()) {
            mem += c.memoryMb();
            cpus += c.vcpus();
        }
        String refusal = null;
        if (claims.size() + 1 > sandboxLimit) {
            refusal = sandboxLimit + " sandboxes already run, the most this host runs at once";
        } else if (mem + memoryMb > memoryLimitMb) {
            refusal = memoryMb + " MiB more memory does not fit: " + mem + " of " + memoryLimitMb + " MiB in use";
        } else if (cpus + vcpus > vcpuLimit) {
            refusal = vcpus + " more vCPUs do not fit: " + cpus + " of " + vcpuLimit + " in use";
        } else if (diskFreeMb() < minFreeDiskMb) {
            refusal = "the data dir has " + diskFreeMb() + " MiB free, under the " + minFreeDiskMb
                    + " MiB kept for snapshots";
        }
        if (refusal != null) {
            throw new ApiException(ApiError.CAPACITY, "host capacity: " + refusal, retryAfterSec);
        }
        claims.put(id, new Claim(vcpus, memoryMb));
    }

    /** The sandbox no longer holds memory or vCPUs (paused, stopped, failed). Idempotent. */
    void release(String id) {
        claims.remove(id);
    }

    Capacity capacity() {
        long mem = 0;
        long cpus = 0;
        int n = 0;
        for (Claim c : claims.values()) {
            mem += c.memoryMb();
            cpus += c.vcpus();
            n++;
        }
        return new Capacity(Usage.of(mem, memoryLimitMb), Usage.of(cpus, vcpuLimit), Usage.of(n, sandboxLimit),
                diskFreeMb(), minFreeDiskMb);
    }

    private long diskFreeMb() {
        try {
            Path existing = dataDir;
            while (existing != null && !Files.exists(existing)) {
                existing = existing.getParent();
            }
            return existing == null ? Long.MAX_VALUE : Files.getFileStore(existing).getUsableSpace() >> 20;
        } catch (IOException e) {
            return 0;  // cannot tell: refuse rather than fill a disk
        }
    }

    private static long hostMemoryMb() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize() >> 20;
        }
        return Runtime.getRuntime().maxMemory() >> 20;
    }
}
