package dev.sandbox.jmh;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.Sandbox;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.engine.agent.ExecRequest;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Our pause and resume beside QEMU's own (save to a file with {@code stop} + {@code migrate}, restore in a new
 * QEMU with {@code -incoming}), and our exec of {@code true} beside the agent's ping, in one run: same kernel,
 * initramfs, guest size and vCPU count, the same N MiB dirtied in the guest before every pause, rounds alternating
 * between the two sides. Ours is a template clone (the server's path), so each pause after the first writes what
 * changed since the last resume; QEMU writes all of RAM every time (that is what its save does).
 * <pre>java -Dsandbox.guest.dir=DIR -cp benchmarks.jar dev.sandbox.jmh.SnapshotCompare [rounds=10] [warmup=2]
 *     [dirty=64] [memory=256] [calls=20] [accel=kvm] [side=both|ours|qemu]</pre>
 * {@code accel=tcg} and {@code side=qemu} try the QEMU half where /dev/kvm cannot boot Linux (not comparable).
 */
public final class SnapshotCompare {
    static final double PAUSE_TARGET = 0.25;
    static final double RESUME_TARGET = 0.1;
    static final double EXEC_TARGET = 1.5;

    /** The run's parameters, {@code key=value} on the command line. */
    record Options(int rounds, int warmup, int dirtyMib, int memoryMb, int calls, String accel, boolean ours,
                   boolean qemu) {
        static final String USAGE = "usage: SnapshotCompare [rounds=10] [warmup=2] [dirty=64] [memory=256]"
                + " [calls=20] [accel=kvm|tcg] [side=both|ours|qemu]";

        static Options parse(String... args) {
            Map<String, String> v = new LinkedHashMap<>(Map.of("rounds", "10", "warmup", "2", "dirty", "64",
                    "memory", "256", "calls", "20", "accel", "kvm", "side", "both"));
            for (String a : args) {
                int eq = a.indexOf('=');
                if (eq < 0 || !v.containsKey(a.substring(0, eq))) {
                    throw new IllegalArgumentException("unknown argument " + a + "; " + USAGE);
                }
                v.put(a.substring(0, eq), a.substring(eq + 1));
            }
            String side = v.get("side");
            if (!side.equals("both") && !side.equals("ours") && !side.equals("qemu")) {
                throw new IllegalArgumentException("side=" + side + "; " + USAGE);
            }
            Options o = new Options(num(v, "rounds"), num(v, "warmup"), num(v, "dirty"), num(v, "memory"),
                    num(v, "calls"), v.get("accel"), !side.equals("qemu"), !side.equals("ours"));
            if (o.rounds() < 1 || o.warmup() < 0 || o.dirtyMib() < 0 || o.dirtyMib() >= o.memoryMb()
                    || o.calls() < 1) {
                throw new IllegalArgumentException("need rounds >= 1, warmup >= 0, 0 <= dirty < memory, calls >= 1: "
                        + o + "; " + USAGE);
            }
            return o;
        }

        private static int num(Map<String, String> v, String key) {
            try {
                return Integer.parseInt(v.get(key));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(key + "=" + v.get(key) + " is not a number; " + USAGE, e);
            }
        }
    }

    /** Every sample of the measured rounds, in microseconds. */
    record Samples(Histogram pause, Histogram resume, Histogram qemuSave, Histogram qemuRunning,
                           Histogram qemuAnswer, Histogram exec, Histogram ping) {
        Samples() {
            this(CompareTable.micros(), CompareTable.micros(), CompareTable.micros(), CompareTable.micros(),
                    CompareTable.micros(), CompareTable.micros(), CompareTable.micros());
        }
    }

    private SnapshotCompare() {
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        Path guest = EngineConfig.guestDirFromSystemProperty();
        Path work = Files.createTempDirectory("snapshot-compare");
        Samples s = new Samples();
        System.out.printf("SnapshotCompare: %d MiB, 1 vCPU, %d MiB dirtied (%s) before each pause; %d rounds after"
                + " %d warm-up; %d exec and %d ping per round; QEMU -accel %s%n", o.memoryMb(), o.dirtyMib(),
                KvmBench.dirtyCommand(o.dirtyMib()), o.rounds(), o.warmup(), o.calls(), o.calls(), o.accel());
        var qemuConfig = new QemuSnapshotGuest.Config(guest.resolve("vmlinux"), guest.resolve("minimal.cpio.gz"),
                o.memoryMb(), o.accel(), Duration.ofMinutes(5));
        Engine engine = null;
        Sandbox sb = null;
        QemuSnapshotGuest qemu = null;
        try {
            if (o.ours()) {
                engine = Engine.open(new EngineConfig(work.resolve("engine"), guest, 2, 128, 3072,
                        Duration.ofSeconds(180)));
                // The first create makes the template: not counted.
                engine.create(new SandboxSpec("compare-template", "minimal", 1, o.memoryMb())).close();
                sb = engine.create(new SandboxSpec("compare", "minimal", 1, o.memoryMb()));
            }
            if (o.qemu()) {
                qemu = QemuSnapshotGuest.boot(qemuConfig);
            }
            Path file = work.resolve("qemu.vmstate");
            for (int round = 1; round <= o.warmup() + o.rounds(); round++) {
                boolean measured = round > o.warmup();
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "round %d%s:", round,
                        measured ? "" : " (warm-up)"));
                if (sb != null) {
                    ours(sb, o, measured ? s : null, line);
                }
                if (qemu != null) {
                    QemuSnapshotGuest next = null;
                    try {
                        next = qemu(qemu, qemuConfig, file, o, measured ? s : null, line);
                    } finally {
                        qemu.close();
                        qemu = next;
                    }
                }
                System.out.println(line);
            }
        } finally {
            if (qemu != null) {
                qemu.close();
            }
            if (sb != null) {
                sb.close();
            }
            if (engine != null) {
                engine.close();
            }
            deleteTree(work); // the engine's snapshots and QEMU's file: hundreds of MiB
        }
        System.out.println();
        System.out.print(report(s, o));
    }

    /** Dirty, pause, resume; then exec and ping, alternating. */
    private static void ours(Sandbox sb, Options o, Samples s, StringBuilder line) {
        KvmBench.dirty(sb, o.dirtyMib());
        long t0 = System.nanoTime();
        sb.pause();
        long t1 = System.nanoTime();
        sb.resume();
        long t2 = System.nanoTime();
        long bytes = sb.lastSnapshotBytes().orElse(-1);
        Histogram exec = CompareTable.micros();
        Histogram ping = CompareTable.micros();
        for (int i = 0; i < o.calls(); i++) {
            long a = System.nanoTime();
            KvmBench.check(sb.exec(ExecRequest.of("true")));
            long b = System.nanoTime();
            sb.ping();
            long c = System.nanoTime();
            CompareTable.record(exec, b - a);
            CompareTable.record(ping, c - b);
        }
        line.append(String.format(Locale.ROOT, " ours pause %s ms (%.1f MiB written), resume %s ms, exec p50 %s ms,"
                + " ping p50 %s ms;", ms(t1 - t0), bytes / 1048576.0, ms(t2 - t1),
                CompareTable.ms(CompareTable.p(exec, 50)), CompareTable.ms(CompareTable.p(ping, 50))));
        if (s != null) {
            CompareTable.record(s.pause(), t1 - t0);
            CompareTable.record(s.resume(), t2 - t1);
            s.exec().add(exec);
            s.ping().add(ping);
        }
    }

    /** Dirty, save, restore in a new QEMU; returns the new one (the caller closes the old). */
    private static QemuSnapshotGuest qemu(QemuSnapshotGuest q, QemuSnapshotGuest.Config c, Path file, Options o,
                                          Samples s, StringBuilder line) throws IOException, InterruptedException {
        if (o.dirtyMib() > 0) {
            q.run(KvmBench.dirtyCommand(o.dirtyMib()), c.timeout());
        }
        QemuSnapshotGuest.Save save = q.save(file);
        q.close(); // the saved QEMU goes before the new one starts: one QEMU at a time, as one VM of ours
        QemuSnapshotGuest.Restore r = QemuSnapshotGuest.restore(c, file);
        line.append(String.format(Locale.ROOT, " QEMU save %s ms (%.1f MiB file), restore to running %s ms, to the"
                + " guest's answer %s ms", ms(save.nanos()), save.bytes() / 1048576.0, ms(r.runningNanos()),
                ms(r.answerNanos())));
        if (s != null) {
            CompareTable.record(s.qemuSave(), save.nanos());
            CompareTable.record(s.qemuRunning(), r.runningNanos());
            CompareTable.record(s.qemuAnswer(), r.answerNanos());
        }
        return r.guest();
    }

    static String report(Samples s, Options o) {
        String vs = new CompareTable("ours", "QEMU")
                .add("pause (" + o.dirtyMib() + " MiB dirtied)", s.pause(), s.qemuSave(), PAUSE_TARGET)
                .add("resume (QEMU: to running)", s.resume(), s.qemuRunning(), RESUME_TARGET)
                .add("resume (QEMU: to the guest's answer)", s.resume(), s.qemuAnswer(), Double.NaN)
                .format();
        String calls = new CompareTable("exec", "ping")
                .add("exec `true` vs the agent's ping (ours, same connection)", s.exec(), s.ping(), EXEC_TARGET)
                .format();
        return String.format(Locale.ROOT, """
                Ours beside QEMU microvm (%d MiB, 1 vCPU, same kernel and initramfs), %d measured rounds:
                %s
                - ours pause: Sandbox.pause() returned: vCPUs stopped, VM state and the guest pages changed since the \
                last resume written to the snapshot folder, the VM freed.
                - QEMU pause: from `stop` to `query-migrate` "completed" with the whole stream in the file \
                (`migrate` to a unix socket this process writes to the file; max-bandwidth raised so it is not \
                throttled); QEMU writes all of RAM, zero pages as flags. The stopped QEMU is killed after, untimed.
                - ours resume: Sandbox.resume() returned: VM rebuilt from the snapshot, running, and the agent \
                answered a call on its connection (identify: clock, entropy).
                - QEMU resume: from starting a new QEMU (`-incoming defer -S`, `migrate-incoming exec:cat FILE`, \
                `cont`) to `query-status` "running"; "to the guest's answer" adds a command answered by a shell on \
                the guest's serial console.
                - dirtied: `%s` in each guest before each pause (ours through exec, QEMU's through that console \
                shell; its guest is ours, with a shell started beside the agent by the kernel's rdinit=).

                Ours, exec `true` beside the agent's ping on the same vsock connection, both timed around the \
                engine call (Sandbox.exec, Sandbox.ping), %d of each per measured round:
                %s""", o.memoryMb(), o.rounds(), vs, KvmBench.dirtyCommand(o.dirtyMib()), o.calls(), calls);
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static String ms(long nanos) {
        return CompareTable.ms(nanos / 1000.0);
    }
}
