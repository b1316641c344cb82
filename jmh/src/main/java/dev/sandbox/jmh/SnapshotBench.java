package dev.sandbox.jmh;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.HostMemory;
import dev.sandbox.engine.Sandbox;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.engine.agent.ExecRequest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Pause and resume times by memory size and by how much memory the guest touched, for a sandbox that booted (its
 * first pause writes a full base) and for the same sandbox once restored (later pauses write a delta); then the
 * memory that {@code clones} clones of one template share (RSS against PSS of their RAM mappings).
 * <pre>java -Dsandbox.guest.dir=DIR -cp benchmarks.jar dev.sandbox.jmh.SnapshotBench [sizesMb=256,1024] [clones=20]</pre>
 */
public final class SnapshotBench {

    private SnapshotBench() {
    }

    public static void main(String[] args) throws Exception {
        String[] sizes = (args.length > 0 ? args[0] : "256,1024").split(",");
        int clones = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        Path guest = EngineConfig.guestDirFromSystemProperty();
        Path data = Files.createTempDirectory("snapshot-bench");
        EngineConfig config = new EngineConfig(data, guest, 2, 128, 3072, Duration.ofSeconds(180));
        try (Engine cold = Engine.open(config.withTemplates(false))) {
            for (String size : sizes) {
                int mb = Integer.parseInt(size.trim());
                for (int touchMb : new int[] {0, mb / 4}) {
                    measure(cold, mb, touchMb);
                }
            }
        }
        try (Engine templated = Engine.open(config)) {
            sharing(templated, Math.max(2, clones));
        }
    }

    private static void measure(Engine engine, int mb, int touchMb) {
        try (Sandbox sb = engine.create(new SandboxSpec("snap-" + mb + "-" + touchMb, "minimal", 1, mb))) {
            touch(sb, touchMb, 1);
            long t0 = System.nanoTime();
            sb.pause();
            long t1 = System.nanoTime();
            sb.resume();
            long t2 = System.nanoTime();
            touch(sb, touchMb / 4, 2); // a quarter of it written again before the second pause
            long t3 = System.nanoTime();
            sb.pause();
            long t4 = System.nanoTime();
            sb.resume();
            long t5 = System.nanoTime();
            System.out.printf("%4d MiB, %4d MiB touched: booted pause %5d ms, resume %5d ms; restored (%d MiB"
                    + " rewritten) pause %5d ms, resume %5d ms%n", mb, touchMb, ms(t1 - t0), ms(t2 - t1), touchMb / 4,
                    ms(t4 - t3), ms(t5 - t4));
        }
    }

    /** Fills {@code mb} MiB of guest page cache (tmpfs) with random bytes. */
    private static void touch(Sandbox sb, int mb, int round) {
        if (mb == 0) {
            return;
        }
        var r = sb.exec(ExecRequest.shell("head -c " + mb + "m /dev/urandom > /dev/shm/fill-" + round)
                .withTimeout(Duration.ofMinutes(5)));
        if (r.exitCode() != 0) {
            throw new IllegalStateException("filling guest memory failed: " + r.stderrText());
        }
    }

    /**
     * Clone create times, the memory the clones share, and what an idle sandbox costs the host beyond its guest
     * pages: the growth of this process's RSS minus that of the guest RAM mappings, per clone (vCPU and device
     * threads, kvm_run, queues, buffers; the JVM heap after a GC). Kernel memory of KVM itself is not in RSS.
     */
    private static void sharing(Engine engine, int clones) {
        List<Sandbox> running = new ArrayList<>();
        try {
            long t0 = System.nanoTime();
            running.add(engine.create(new SandboxSpec("clone-0", "minimal", 1, 128)));
            long first = ms(System.nanoTime() - t0);
            settle();
            HostMemory.Usage processBefore = HostMemory.process();
            HostMemory.Usage ramBefore = HostMemory.mappings(HostMemory.GUEST_RAM);
            List<Long> times = new ArrayList<>();
            for (int i = 1; i < clones; i++) {
                long t = System.nanoTime();
                running.add(engine.create(new SandboxSpec("clone-" + i, "minimal", 1, 128)));
                times.add(ms(System.nanoTime() - t));
            }
            times.sort(null);
            settle();
            HostMemory.Usage process = HostMemory.process();
            HostMemory.Usage ram = HostMemory.mappings(HostMemory.GUEST_RAM);
            HostMemory.Usage templateRam = HostMemory.mappings(HostMemory.TEMPLATE_RAM);
            double overheadMb = ((process.rssKb() - processBefore.rssKb()) - (ram.rssKb() - ramBefore.rssKb()))
                    / 1024.0 / (clones - 1);
            System.out.printf("%d clones of a 128 MiB template: first create (boot + snapshot + restore) %d ms, then"
                    + " p50 %d ms, max %d ms; their RAM mappings: RSS %d MiB, PSS %d MiB (%.1f MiB each)%n", clones,
                    first, times.get(times.size() / 2), times.getLast(), templateRam.rssMb(), templateRam.pssMb(),
                    templateRam.pssKb() / 1024.0 / clones);
            System.out.printf("host memory per idle sandbox beyond its guest pages: %.2f MiB (process RSS %d -> %d"
                    + " MiB, guest RAM RSS %d -> %d MiB, over %d clones)%n", overheadMb, processBefore.rssMb(),
                    process.rssMb(), ramBefore.rssMb(), ram.rssMb(), clones - 1);
        } finally {
            running.forEach(Sandbox::close);
        }
    }

    /** Lets idle guests finish their boot-time work and the heap shrink to what is live. */
    private static void settle() {
        System.gc();
        try {
            Thread.sleep(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.gc();
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }
}
