package dev.sandbox.jmh;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.Sandbox;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.engine.agent.ExecRequest;
import dev.sandbox.engine.agent.ExecResult;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Disk throughput of the {@code python} template's root disk: our virtio-blk over a copy-on-write overlay beside
 * QEMU's virtio-blk ({@code virtio-blk-device}, raw image, {@code snapshot=on}: its writes go to a temporary
 * overlay too), alternating round by round in one run on the same KVM, kernel and image. In the guest, GNU dd with
 * direct I/O (no guest page cache): 1 MiB reads of the image (served from the base), 1 MiB writes to a file on /
 * (into the overlay) with an fsync, 1 MiB reads of that file back (from the overlay), and 4 KiB reads (one request
 * each: the per-request cost of the device). Our guest runs it through the agent; QEMU's (no vsock) as its init.
 * <pre>java -Dsandbox.guest.dir=DIR -cp benchmarks.jar dev.sandbox.jmh.DiskCompare [rounds] [mib]</pre>
 */
public final class DiskCompare {
    private static final Pattern DD = Pattern.compile("^([RWOS]) (\\d+) bytes .* copied, ([0-9.e+-]+) s",
            Pattern.MULTILINE);
    static final String TEMPLATE = "python";

    /** What is measured; the line prefix the script gives each. */
    enum Test {
        R("read 1 MiB (base)"), W("write 1 MiB + fsync (overlay)"), O("read 1 MiB (overlay)"), S("read 4 KiB (base)");

        final String label;

        Test(String label) {
            this.label = label;
        }
    }

    private DiskCompare() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int mib = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        Path guest = EngineConfig.guestDirFromSystemProperty();
        Path data = Files.createTempDirectory("disk-compare");
        Map<Test, List<Double>> ours = new EnumMap<>(Test.class);
        Map<Test, List<Double>> qemu = new EnumMap<>(Test.class);
        try (Engine engine = Engine.open(EngineConfig.defaults(data, guest))) {
            // The first create makes the template: not counted.
            engine.create(new SandboxSpec("disk-warm", TEMPLATE, 1, 512)).close();
            for (int i = 1; i <= rounds; i++) {
                Map<Test, Double> o = ours(engine, "disk-" + i, mib);
                Map<Test, Double> q = qemu(guest, mib);
                o.forEach((t, v) -> ours.computeIfAbsent(t, k -> new ArrayList<>()).add(v));
                q.forEach((t, v) -> qemu.computeIfAbsent(t, k -> new ArrayList<>()).add(v));
                System.out.printf("round %d: ours %s; qemu %s (MiB/s)%n", i, o, q);
            }
        }
        System.out.printf("p50 of %d rounds, %d MiB (4 KiB reads: %d MiB), MiB/s:%n", rounds, mib, mib / 8);
        System.out.println("| test | ours | QEMU | ours/QEMU |");
        System.out.println("| --- | ---: | ---: | ---: |");
        for (Test t : Test.values()) {
            double o = median(ours.get(t));
            double q = median(qemu.get(t));
            System.out.printf("| %s | %.1f | %.1f | %.2f |%n", t.label, o, q, o / q);
        }
    }

    static String script(int mib) {
        String dd = " 2>&1 | tail -1 | sed 's/^/%s /'";
        return "sync; echo 3 > /proc/sys/vm/drop_caches; "
                + "dd if=/dev/vda of=/dev/null bs=1M count=" + mib + " iflag=direct" + dd.formatted("R") + "; "
                + "dd if=/dev/zero of=/root/dd.bin bs=1M count=" + mib + " oflag=direct conv=fsync"
                + dd.formatted("W") + "; "
                + "dd if=/root/dd.bin of=/dev/null bs=1M iflag=direct" + dd.formatted("O") + "; "
                + "dd if=/dev/vda of=/dev/null bs=4k count=" + (mib * 32) + " skip=" + (mib * 256)
                + " iflag=direct" + dd.formatted("S") + "; "
                + "rm -f /root/dd.bin; sync";
    }

    private static Map<Test, Double> ours(Engine engine, String id, int mib) throws IOException {
        try (Sandbox sb = engine.create(new SandboxSpec(id, TEMPLATE, 1, 512))) {
            ExecResult r = sb.exec(ExecRequest.shell(script(mib)).withTimeout(Duration.ofMinutes(10)));
            return parse(new String(r.stdout(), StandardCharsets.UTF_8), "exit " + r.exitCode() + ", stderr "
                    + r.stderrText());
        }
    }

    private static Map<Test, Double> qemu(Path guest, int mib) throws IOException, InterruptedException {
        Path image = guest.resolve(TEMPLATE + ".ext4");
        // QEMU appends its virtio_mmio.device= after our "--", where it would go to init: so the one device it
        // places (the disk, first slot of microvm) is declared here, before it.
        String append = "console=ttyS0 reboot=t panic=-1 quiet virtio_mmio.device=512@0xfeb00e00:12 root=/dev/vda rw"
                + " rootfstype=ext4 init=/bin/sh -- -c \"mount -t proc proc /proc; mount -t devtmpfs dev /dev; "
                + script(mib).replace("\"", "\\\"") + "; echo disk-done\"";
        ProcessBuilder pb = new ProcessBuilder("qemu-system-x86_64", "-M", "microvm,acpi=off", "-accel", "kvm",
                "-cpu", "host", "-m", "512", "-smp", "1", "-nodefaults", "-no-user-config", "-display", "none",
                "-no-reboot",
                "-serial", "stdio", "-drive", "file=" + image + ",format=raw,if=none,id=d0,snapshot=on",
                "-device", "virtio-blk-device,drive=d0", "-kernel", guest.resolve("vmlinux").toString(),
                "-append", append).redirectErrorStream(true);
        Path temp = QemuMicrovm.writableTemp(pb);
        Process p = pb.start();
        StringBuilder console = new StringBuilder();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                console.append(line).append('\n');
                if (line.contains("disk-done")) {
                    break;
                }
            }
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            QemuMicrovm.deleteTemp(temp);
        }
        return parse(console.toString(), "QEMU's console");
    }

    static Map<Test, Double> parse(String output, String context) throws IOException {
        Map<Test, Double> rates = new EnumMap<>(Test.class);
        Matcher m = DD.matcher(output.replace("\r", ""));
        while (m.find()) {
            double seconds = Double.parseDouble(m.group(3));
            rates.put(Test.valueOf(m.group(1)), Long.parseLong(m.group(2)) / (1024.0 * 1024.0) / seconds);
        }
        if (rates.size() != Test.values().length) {
            throw new IOException("not every dd reported (" + rates.keySet() + ", " + context + "):\n" + output);
        }
        return rates;
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }
}
