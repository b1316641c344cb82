package dev.sandbox.jmh;

import dev.sandbox.engine.Cidr;
import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.NetworkSpec;
import dev.sandbox.engine.Sandbox;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.engine.agent.ExecRequest;
import dev.sandbox.engine.agent.ExecResult;
import dev.sandbox.engine.net.GuestNetLayout;
import dev.sandbox.engine.net.HostNetworking;
import dev.sandbox.engine.net.NetConfig;
import dev.sandbox.engine.net.SandboxNetns;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Guest-to-host TCP throughput and ping round trip: our virtio-net beside QEMU's virtio-net (microvm,
 * virtio-mmio, no vhost), alternating round by round in one run on the same KVM, same kernel and initramfs, same
 * path: guest → TAP in a namespace of its own → nftables forward → veth → a socket of this JVM on the host side.
 * Our guest runs the commands through the agent; QEMU's (no vsock there) runs them as its init script. The sender
 * is busybox ({@code dd | nc}), the receiver counts from the first byte to the last.
 * <pre>java -Dsandbox.guest.dir=DIR -cp benchmarks.jar dev.sandbox.jmh.NetCompare [rounds] [mib] [pings]</pre>
 */
public final class NetCompare {
    private static final Pattern RTT = Pattern.compile("min/avg/max = ([0-9.]+)/([0-9.]+)/([0-9.]+) ms");

    private NetCompare() {
    }

    record Sample(double mibPerS, double rttMs) {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int mib = args.length > 1 ? Integer.parseInt(args[1]) : 16;
        int pings = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        Path guest = EngineConfig.guestDirFromSystemProperty();
        Path data = Files.createTempDirectory("net-compare");
        Cidr ourPool = NetConfig.DEFAULT.pool();
        Cidr qemuPool = Cidr.parse("10.201.0.0/16");
        List<Sample> ours = new ArrayList<>();
        List<Sample> qemu = new ArrayList<>();
        HostNetworking qemuNet = new HostNetworking(NetConfig.of("sbq", qemuPool));
        try (Engine engine = Engine.open(EngineConfig.defaults(data, guest));
             ServerSocket receiver = new ServerSocket()) {
            receiver.bind(new InetSocketAddress("0.0.0.0", 0));
            int port = receiver.getLocalPort();
            NetworkSpec spec = new NetworkSpec(true, List.of(ourPool, qemuPool), List.of());
            // The first create makes the template: not counted.
            engine.create(new SandboxSpec("net-warm", "minimal", 1, 256, spec)).close();
            qemuNet.cleanupLeftovers();
            qemuNet.setup();
            for (int i = 1; i <= rounds; i++) {
                ours.add(ours(engine, spec, "net-" + i, receiver, port, mib, pings));
                qemu.add(qemu(qemuNet, spec, guest, receiver, port, mib, pings));
                System.out.printf("round %d: ours %.1f MiB/s rtt %.3f ms; qemu %.1f MiB/s rtt %.3f ms%n", i,
                        ours.getLast().mibPerS(), ours.getLast().rttMs(), qemu.getLast().mibPerS(),
                        qemu.getLast().rttMs());
            }
        } finally {
            qemuNet.teardown();
        }
        double ot = median(ours.stream().map(Sample::mibPerS).toList());
        double qt = median(qemu.stream().map(Sample::mibPerS).toList());
        double or = median(ours.stream().map(Sample::rttMs).toList());
        double qr = median(qemu.stream().map(Sample::rttMs).toList());
        System.out.printf("throughput p50: ours %.1f MiB/s, qemu %.1f MiB/s, ours/qemu %.2f; ping rtt p50: ours %.3f ms,"
                + " qemu %.3f ms, ours/qemu %.2f (%d rounds, %d MiB, %d pings)%n", ot, qt, ot / qt, or, qr, or / qr,
                rounds, mib, pings);
    }

    private static String script(String host, int port, int mib, int pings) {
        return "dd if=/dev/zero bs=65536 count=" + (mib * 16) + " 2>/dev/null | nc " + host + " " + port
                + "; ping -c " + pings + " -i 0.2 " + host;
    }

    private static Sample ours(Engine engine, NetworkSpec spec, String id, ServerSocket receiver, int port, int mib,
                               int pings) throws Exception {
        try (Sandbox sb = engine.create(new SandboxSpec(id, "minimal", 1, 256, spec))) {
            String hostIp = sb.network().orElseThrow().hostIp();
            String hostSide = NetConfig.DEFAULT.slot(NetConfig.DEFAULT.slotOf(hostIp)).hostSideIp();
            CompletableFuture<Double> rate = receive(receiver, (long) mib << 20);
            ExecResult r = sb.exec(new ExecRequest("/bin/sh", List.of("-c", script(hostSide, port, mib, pings)),
                    java.util.Map.of(), null, null, java.time.Duration.ofMinutes(5), ExecRequest.DEFAULT_OUTPUT_CAP, ExecRequest.DEFAULT_OUTPUT_CAP));
            String out = new String(r.stdout(), StandardCharsets.UTF_8);
            return new Sample(rate.get(5, TimeUnit.MINUTES), rtt(out));
        }
    }

    private static Sample qemu(HostNetworking net, NetworkSpec spec, Path guest, ServerSocket receiver, int port,
                               int mib, int pings) throws Exception {
        int slot = net.slots().allocate();
        try (SandboxNetns ns = net.create(slot, spec)) {
            String n = ns.netnsName();
            // A persistent TAP QEMU opens by name in the namespace, configured as ours is.
            run("ip", "-n", n, "tuntap", "add", "dev", GuestNetLayout.TAP_NAME, "mode", "tap", "vnet_hdr");
            run("ip", "-n", n, "link", "set", GuestNetLayout.TAP_NAME, "address", GuestNetLayout.GATEWAY_MAC);
            run("ip", "-n", n, "addr", "add", GuestNetLayout.GATEWAY_IP + "/" + GuestNetLayout.PREFIX, "dev",
                    GuestNetLayout.TAP_NAME);
            run("ip", "-n", n, "link", "set", GuestNetLayout.TAP_NAME, "up");
            CompletableFuture<Double> rate = receive(receiver, (long) mib << 20);
            // No agent there to mount /dev (dd reads /dev/zero). QEMU appends its virtio_mmio.device= after our "--", where it would go to init, not the kernel: so
            // the one device it places (the NIC, first slot of microvm) is declared here, before the "--".
            String append = "console=ttyS0 reboot=t panic=-1 quiet virtio_mmio.device=512@0xfeb00e00:12 ip="
                    + GuestNetLayout.kernelIpParameter()
                    + " rdinit=/bin/sh -- -c \"mount -t devtmpfs dev /dev; " + script(ns.hostSideIp(), port, mib, pings)
                    + "; echo net-done\"";
            Process p = new ProcessBuilder("ip", "netns", "exec", n, "qemu-system-x86_64", "-M", "microvm,acpi=off",
                    "-accel", "kvm", "-cpu", "host", "-m", "256", "-smp", "1", "-nodefaults", "-no-user-config",
                    "-display", "none", "-no-reboot", "-serial", "stdio",
                    "-netdev", "tap,id=n0,ifname=" + GuestNetLayout.TAP_NAME + ",script=no,downscript=no,vhost=off",
                    "-device", "virtio-net-device,netdev=n0,mac=" + GuestNetLayout.GUEST_MAC,
                    "-kernel", guest.resolve("vmlinux").toString(),
                    "-initrd", guest.resolve("minimal.cpio.gz").toString(), "-append", append)
                    .redirectErrorStream(true).start();
            StringBuilder console = new StringBuilder();
            try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                    console.append(line).append('\n');
                    if (line.contains("net-done")) {
                        break;
                    }
                }
            } finally {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            try {
                return new Sample(rate.get(1, TimeUnit.SECONDS), rtt(console.toString()));
            } catch (Exception e) {
                throw new IOException("QEMU's guest did not send or ping; console:\n" + console, e);
            }
        } finally {
            net.slots().release(slot);
        }
    }

    /** Accepts one connection, reads {@code bytes}, closes; MiB/s from the first byte to the last. */
    private static CompletableFuture<Double> receive(ServerSocket receiver, long bytes) {
        CompletableFuture<Double> done = new CompletableFuture<>();
        Thread.ofPlatform().daemon(true).start(() -> {
            try (Socket s = receiver.accept(); InputStream in = s.getInputStream()) {
                byte[] buf = new byte[1 << 16];
                long got = 0;
                long first = 0;
                while (got < bytes) {
                    int n = in.read(buf);
                    if (n < 0) {
                        break;
                    }
                    if (got == 0) {
                        first = System.nanoTime();
                    }
                    got += n;
                }
                double seconds = (System.nanoTime() - first) / 1e9;
                if (got < bytes) {
                    throw new IOException("received " + got + " of " + bytes + " bytes");
                }
                done.complete(got / (1024.0 * 1024.0) / seconds);
            } catch (IOException | RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        return done;
    }

    private static double rtt(String pingOutput) throws IOException {
        Matcher m = RTT.matcher(pingOutput);
        if (!m.find()) {
            throw new IOException("no ping summary in:\n" + pingOutput);
        }
        return Double.parseDouble(m.group(2));
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out);
        }
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }
}
