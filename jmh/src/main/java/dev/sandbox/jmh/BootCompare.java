package dev.sandbox.jmh;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.Sandbox;
import dev.sandbox.engine.SandboxSpec;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Boot to agent-ready, our VMM beside QEMU's microvm, alternating in one run on the same KVM, same kernel and
 * initramfs, 1 vCPU and the same memory. QEMU counts until the agent's ready line on its console; ours until
 * {@link Engine#create} returns, which is later: after that line the agent also answered over vsock.
 * <pre>java -Dsandbox.guest.dir=DIR -cp benchmarks.jar dev.sandbox.jmh.BootCompare [rounds] [memoryMb]</pre>
 */
public final class BootCompare {

    private BootCompare() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int memoryMb = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        Path guest = EngineConfig.guestDirFromSystemProperty();
        Path data = Files.createTempDirectory("boot-compare");
        List<Double> ours = new ArrayList<>();
        List<Double> qemu = new ArrayList<>();
        try (Engine engine = Engine.open(EngineConfig.defaults(data, guest))) {
            for (int i = 0; i < rounds; i++) {
                qemu.add(qemuBoot(guest, memoryMb));
                long start = System.nanoTime();
                try (Sandbox sb = engine.create(new SandboxSpec("boot-" + i, "minimal", 1, memoryMb))) {
                    ours.add((System.nanoTime() - start) / 1e6);
                }
                System.out.printf("round %d: ours %.0f ms, qemu %.0f ms%n", i + 1, ours.getLast(), qemu.getLast());
            }
        }
        double o = median(ours), q = median(qemu);
        System.out.printf("boot to agent-ready, median of %d (%d MiB, 1 vCPU): ours %.0f ms, qemu microvm %.0f ms, "
                + "ours/qemu %.2f%n", rounds, memoryMb, o, q, o / q);
    }

    // Launch to the agent's ready line on the serial console, then kill QEMU.
    private static double qemuBoot(Path guest, int memoryMb) throws IOException, InterruptedException {
        long start = System.nanoTime();
        Process p = new ProcessBuilder("qemu-system-x86_64", "-M", "microvm,acpi=off", "-accel", "kvm", "-cpu", "host",
                "-m", String.valueOf(memoryMb), "-smp", "1", "-nodefaults", "-no-user-config", "-display", "none",
                "-no-reboot", "-serial", "stdio",
                "-kernel", guest.resolve("vmlinux").toString(), "-initrd", guest.resolve("minimal.cpio.gz").toString(),
                "-append", "console=ttyS0 reboot=t panic=-1 quiet")
                .redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                if (line.contains("sandbox-agent: ready")) {
                    return (System.nanoTime() - start) / 1e6;
                }
            }
            throw new IOException("QEMU exited before the agent was ready");
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }
}
