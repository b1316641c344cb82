package dev.sandbox.jmh;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.Sandbox;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.engine.agent.ExecRequest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Create to agent-ready, our VMM (cold boot, and restored from a template snapshot) beside QEMU's microvm booting,
 * alternating in one run on the same KVM, same kernel and initramfs, 1 vCPU and the same memory. QEMU counts until the agent's ready line on its console; ours until
 * {@link Engine#create} returns, which is later: after that line the agent also answered over vsock. Each of our
 * sandboxes then runs {@code execs} round trips of {@code true} through the agent. Prints p50 and p99 (nearest
 * rank; with few rounds p99 is the slowest).
 * <pre>java -Dsandbox.guest.dir=DIR -cp benchmarks.jar dev.sandbox.jmh.BootCompare [rounds] [memoryMb] [execs]</pre>
 */
public final class BootCompare {

    private BootCompare() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int memoryMb = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        int execs = args.length > 2 ? Integer.parseInt(args[2]) : 50;
        Path guest = EngineConfig.guestDirFromSystemProperty();
        Path data = Files.createTempDirectory("boot-compare");
        List<Double> ours = new ArrayList<>();
        List<Double> clones = new ArrayList<>();
        List<Double> qemu = new ArrayList<>();
        List<Double> exec = new ArrayList<>();
        EngineConfig config = EngineConfig.defaults(data, guest);
        try (Engine cold = Engine.open(config.withTemplates(false)); Engine templated = Engine.open(config)) {
            // The template is made by the first create (a boot and a snapshot), not counted.
            templated.create(new SandboxSpec("template-warmup", "minimal", 1, memoryMb)).close();
            for (int i = 0; i < rounds; i++) {
                qemu.add(QemuMicrovm.bootToReadyMs(guest, memoryMb));
                long start = System.nanoTime();
                try (Sandbox sb = cold.create(new SandboxSpec("boot-" + i, "minimal", 1, memoryMb))) {
                    ours.add((System.nanoTime() - start) / 1e6);
                    for (int e = 0; e < execs; e++) {
                        long t0 = System.nanoTime();
                        sb.exec(ExecRequest.of("true"));
                        exec.add((System.nanoTime() - t0) / 1e6);
                    }
                }
                start = System.nanoTime();
                templated.create(new SandboxSpec("clone-" + i, "minimal", 1, memoryMb)).close();
                clones.add((System.nanoTime() - start) / 1e6);
                System.out.printf("round %d: ours cold %.0f ms, ours from template %.0f ms, qemu %.0f ms%n", i + 1,
                        ours.getLast(), clones.getLast(), qemu.getLast());
            }
        }
        double o = percentile(ours, 50), c = percentile(clones, 50), q = percentile(qemu, 50);
        System.out.printf("create to agent-ready, %d rounds (%d MiB, 1 vCPU): ours cold p50 %.0f ms p99 %.0f ms, ours"
                + " from template p50 %.0f ms p99 %.0f ms, qemu microvm boot p50 %.0f ms p99 %.0f ms; ours/qemu p50:"
                + " cold %.2f, template %.2f%n", rounds, memoryMb, o, percentile(ours, 99), c, percentile(clones, 99),
                q, percentile(qemu, 99), o / q, c / q);
        System.out.printf("exec round trip (true), %d execs over %d sandboxes: p50 %.1f ms, p99 %.1f ms, max %.1f ms%n",
                exec.size(), rounds, percentile(exec, 50), percentile(exec, 99), percentile(exec, 100));
    }

    /** Nearest-rank percentile. */
    private static double percentile(List<Double> values, double p) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int rank = (int) Math.ceil(p / 100 * sorted.size());
        return sorted.get(Math.clamp(rank - 1, 0, sorted.size() - 1));
    }
}
