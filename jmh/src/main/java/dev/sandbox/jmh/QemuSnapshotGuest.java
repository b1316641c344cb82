package dev.sandbox.jmh;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Our kernel and initramfs in QEMU microvm, saved to a file and restored from it through QMP: QEMU's own pause and
 * resume, for a side-by-side figure. QEMU has no vsock path to our agent, so the guest gets a second way in: its
 * first process is a shell (kernel {@code rdinit=}) that mounts /dev, leaves a shell reading commands from the
 * serial console (echo off) in the background and execs our agent as PID 1, as it is in our VMs. Commands typed on
 * the console reach the guest before a save and after a restore alike.
 */
final class QemuSnapshotGuest implements AutoCloseable {
    /** The same guest for every QEMU of a run; {@code accel} "kvm", or "tcg" to try it without KVM. */
    record Config(Path kernel, Path initrd, int memoryMb, String accel, Duration timeout) {
    }

    /** What a save wrote and how long it took, from {@code stop} to the whole stream in the file. */
    record Save(long nanos, long bytes) {
    }

    /**
     * A guest restored from a file: from starting QEMU to {@code query-status} "running" after {@code cont}, and
     * on to the guest's shell answering a command on the console.
     */
    record Restore(QemuSnapshotGuest guest, long runningNanos, long answerNanos) {
    }

    /** QEMU's default bandwidth cap throttles a migration to a file; a stopped guest needs none. */
    private static final long MAX_BANDWIDTH = 100L << 30;
    private static final String READY = "sandbox-agent: ready";

    private final Config config;
    private final Process process;
    private final Path temp;
    private final SerialConsole console;
    private Qmp qmp;
    private int marks;
    private boolean closed;

    private QemuSnapshotGuest(Config config, Process process, Path temp) {
        this.config = config;
        this.process = process;
        this.temp = temp;
        this.console = new SerialConsole(process);
    }

    /** Boots the guest until its agent is ready and its console shell answers. */
    static QemuSnapshotGuest boot(Config config) throws IOException, InterruptedException {
        QemuSnapshotGuest g = start(config, List.of());
        try {
            g.console.await(READY, config.timeout());
            g.run("true", config.timeout());
            return g;
        } catch (IOException | InterruptedException | RuntimeException e) {
            g.close();
            throw e;
        }
    }

    /** Starts a new QEMU that loads {@code snapshot} (written by {@link #save}) and runs it. */
    static Restore restore(Config config, Path snapshot) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        QemuSnapshotGuest g = start(config, List.of("-incoming", "defer", "-S"));
        try {
            g.qmp.execute("migrate-incoming", Map.of("uri", "exec:cat '" + snapshot + "'"));
            String status = g.awaitStatusOtherThan("inmigrate");
            if (!status.equals("paused") && !status.equals("prelaunch")) {
                throw new IOException("after loading the snapshot QEMU is " + status + ": "
                        + g.qmp.execute("query-migrate", Map.of()) + "; console:\n" + g.console.tail());
            }
            g.qmp.execute("cont", Map.of());
            g.awaitStatus("running");
            long t1 = System.nanoTime();
            g.run("true", config.timeout());
            long t2 = System.nanoTime();
            return new Restore(g, t1 - t0, t2 - t0);
        } catch (IOException | InterruptedException | RuntimeException e) {
            g.close();
            throw e;
        }
    }

    private static QemuSnapshotGuest start(Config c, List<String> extra) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("qemu-system-x86_64", "-M", "microvm,acpi=off", "-accel",
                c.accel()));
        if (c.accel().equals("kvm")) {
            cmd.addAll(List.of("-cpu", "host"));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        Path temp = QemuMicrovm.writableTemp(pb);
        Path qmpSocket = temp.resolve("qmp.sock");
        cmd.addAll(List.of("-m", String.valueOf(c.memoryMb()), "-smp", "1", "-nodefaults", "-no-user-config",
                "-display", "none", "-no-reboot", "-serial", "stdio", "-kernel", c.kernel().toString(),
                "-initrd", c.initrd().toString(), "-append", append(),
                "-qmp", "unix:" + qmpSocket + ",server=on,wait=off"));
        cmd.addAll(extra);
        pb.command(cmd);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            QemuMicrovm.deleteTemp(temp);
            throw e;
        }
        QemuSnapshotGuest g = new QemuSnapshotGuest(c, p, temp);
        try {
            g.qmp = Qmp.connect(qmpSocket, System.nanoTime() + c.timeout().toNanos(), c.timeout(), p::isAlive);
            g.qmp.execute("migrate-set-parameters", Map.of("max-bandwidth", MAX_BANDWIDTH));
            return g;
        } catch (IOException | InterruptedException | RuntimeException e) {
            g.close();
            throw new IOException(e.getMessage() + "; console:\n" + g.console.tail(), e);
        }
    }

    /**
     * The kernel's command line. The kernel hands what follows "--" to init, a double-quoted span as one argument
     * (no nesting: the inner script is single-quoted). {@code eval $l}: the commands typed are simple ones.
     */
    static String append() {
        return "console=ttyS0 reboot=t panic=-1 quiet rdinit=/bin/sh -- -c \"mount -t devtmpfs dev /dev;"
                + " sh -c 'stty -echo; while read -r l; do eval $l; done' </dev/ttyS0 >/dev/ttyS0 2>&1 &"
                + " exec /init\"";
    }

    /** Runs a shell command in the guest through the console; returns when it finished. */
    void run(String command, Duration timeout) throws IOException, InterruptedException {
        int n = ++marks;
        // The marker is computed in the guest: an echo of the typed line never matches it.
        console.type(command + "; echo qcmp-$((" + n + "))-done");
        console.await("qcmp-" + n + "-done", timeout);
    }

    /**
     * QEMU's pause: {@code stop}, then {@code migrate} to a file (through {@link MigrationSink}), timed from the
     * request until QEMU reports "completed" and the file holds the whole stream. The guest stays stopped.
     */
    Save save(Path file) throws IOException, InterruptedException {
        try (MigrationSink sink = MigrationSink.listen(temp.resolve("migration.sock"), file)) {
            long t0 = System.nanoTime();
            qmp.execute("stop", Map.of());
            qmp.execute("migrate", Map.of("uri", sink.uri()));
            awaitMigration();
            long bytes = sink.await(config.timeout());
            return new Save(System.nanoTime() - t0, bytes);
        }
    }

    private void awaitMigration() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + config.timeout().toNanos();
        while (true) {
            JsonNode m = qmp.execute("query-migrate", Map.of());
            String status = m.path("status").asText();
            switch (status) {
                case "completed" -> {
                    return;
                }
                case "failed", "cancelled" -> throw new IOException("QEMU's migration " + status + ": "
                        + m.path("error-desc").asText(m.toString()));
                default -> {
                    if (System.nanoTime() - deadline > 0) {
                        throw new IOException("QEMU's migration is still " + status + " after " + config.timeout());
                    }
                    Thread.sleep(1);
                }
            }
        }
    }

    private void awaitStatus(String wanted) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + config.timeout().toNanos();
        String status;
        while (!(status = status()).equals(wanted)) {
            if (System.nanoTime() - deadline > 0) {
                throw new IOException("QEMU is " + status + ", not " + wanted + ", after " + config.timeout());
            }
            Thread.sleep(1);
        }
    }

    private String awaitStatusOtherThan(String current) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + config.timeout().toNanos();
        String status;
        while ((status = status()).equals(current)) {
            if (System.nanoTime() - deadline > 0) {
                throw new IOException("QEMU is still " + status + " after " + config.timeout());
            }
            Thread.sleep(1);
        }
        return status;
    }

    private String status() throws IOException, InterruptedException {
        return qmp.execute("query-status", Map.of()).path("status").asText();
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (qmp != null) {
                qmp.close();
            }
        } finally {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            QemuMicrovm.deleteTemp(temp);
        }
    }
}
