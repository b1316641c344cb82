package dev.sandbox.jmh;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
        return bootToReadyMs(memoryMb, List.of("-initrd", guest.resolve("minimal.cpio.gz").toString()),
                guest.resolve("vmlinux"), "");
    }

    /**
     * As {@link #bootToReadyMs(Path, int)} from disk template {@code template}'s image on virtio-blk, copy-on-write
     * ({@code snapshot=on}: writes go to a temporary file, as ours go to an overlay), as the first device of microvm
     * (QEMU appends its virtio_mmio.device= after the kernel's arguments, which our root= needs none of).
     */
    static double bootDiskToReadyMs(Path guest, String template, int memoryMb) throws IOException, InterruptedException {
        Path image = guest.resolve(template + ".ext4");
        return bootToReadyMs(memoryMb, List.of("-drive", "file=" + image + ",format=raw,if=none,id=d0,snapshot=on",
                "-device", "virtio-blk-device,drive=d0"), guest.resolve("vmlinux"),
                " root=/dev/vda rw rootfstype=ext4 init=/sbin/sandbox-agent");
    }

    private static double bootToReadyMs(int memoryMb, List<String> devices, Path kernel, String append)
            throws IOException, InterruptedException {
        long start = System.nanoTime();
        List<String> cmd = new ArrayList<>(List.of("qemu-system-x86_64", "-M", "microvm,acpi=off", "-accel", "kvm",
                "-cpu", "host", "-m", String.valueOf(memoryMb), "-smp", "1", "-nodefaults", "-no-user-config",
                "-display", "none", "-no-reboot", "-serial", "stdio", "-kernel", kernel.toString()));
        cmd.addAll(devices);
        cmd.addAll(List.of("-append", "console=ttyS0 reboot=t panic=-1 quiet" + append));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        Path temp = writableTemp(pb);
        Process p = pb.start();
        var stdout = new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8);
        StringBuilder console = new StringBuilder();
        try (BufferedReader out = new BufferedReader(stdout)) {
            String line;
            while ((line = out.readLine()) != null) {
                if (line.contains("sandbox-agent: ready")) {
                    return (System.nanoTime() - start) / 1e6;
                }
                console.append(line).append('\n');
            }
            throw new IOException("QEMU exited before the agent was ready; console:\n" + console);
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            deleteTemp(temp);
        }
    }

    /**
     * Gives QEMU a temporary folder of its own for {@code snapshot=on}'s overlay: it puts it in {@code $TMPDIR},
     * except that a {@code TMPDIR} of /tmp becomes /var/tmp (QEMU 7.2's create_tmp_file), read-only in the nested
     * host. Returns the folder, for {@link #deleteTemp}.
     */
    static Path writableTemp(ProcessBuilder pb) throws IOException {
        Path dir = Files.createTempDirectory("qemu-tmp");
        pb.environment().put("TMPDIR", dir.toString());
        return dir;
    }

    /** Removes {@link #writableTemp}'s folder (QEMU unlinks its overlay once open; a killed one may leave it). */
    static void deleteTemp(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
        }
        Files.deleteIfExists(dir);
    }
}
