package dev.sandbox.jmh;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * QEMU's microvm booting our kernel and initramfs on the same KVM, for a side-by-side boot figure. It has no vsock
 * device, so it counts to the agent's ready line on the console: a shorter path than ours, which also waits for
 * the agent to answer over vsock.
 */
final class QemuMicrovm {

    private QemuMicrovm() {
    }

    /** Launches QEMU, waits for the agent's ready line on its serial console, kills it; returns the ms taken. */
    static double bootToReadyMs(Path guest, int memoryMb) throws IOException, InterruptedException {
        long start = System.nanoTime();
        Process p = new ProcessBuilder("qemu-system-x86_64", "-M", "microvm,acpi=off", "-accel", "kvm", "-cpu", "host",
                "-m", String.valueOf(memoryMb), "-smp", "1", "-nodefaults", "-no-user-config", "-display", "none",
                "-no-reboot", "-serial", "stdio",
                "-kernel", guest.resolve("vmlinux").toString(), "-initrd", guest.resolve("minimal.cpio.gz").toString(),
                "-append", "console=ttyS0 reboot=t panic=-1 quiet")
                .redirectErrorStream(true).start();
        var stdout = new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8);
        try (BufferedReader out = new BufferedReader(stdout)) {
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
}
