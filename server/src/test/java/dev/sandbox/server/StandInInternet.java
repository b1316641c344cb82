package dev.sandbox.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A stand-in for the internet that never leaves this machine: a network namespace of the test's own, joined to the
 * host by a veth pair ({@value #HOST_SIDE} on the host, {@value #SERVER} in the namespace, both documentation
 * addresses), with busybox httpd serving one file on port 80. Closing it stops the server and removes namespace and
 * link.
 */
final class StandInInternet implements AutoCloseable {
    static final String HOST_SIDE = "198.51.100.1";
    static final String SERVER = "198.51.100.10";
    static final String FILE = "hello.txt";

    final String body;
    private final String ns;
    private final String link;
    private final Path root;
    private Process httpd;

    private StandInInternet(String ns, String link, Path root, String body) {
        this.ns = ns;
        this.link = link;
        this.root = root;
        this.body = body;
    }

    static StandInInternet start(Path dir) throws IOException {
        String tag = Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 20, 1 << 24));
        Path root = Files.createDirectories(dir.resolve("www"));
        String body = "stand-in internet " + tag + "\n";
        Files.writeString(root.resolve(FILE), body);
        StandInInternet net = new StandInInternet("sbtinet" + tag, "sbti" + tag, root, body);
        try {
            net.up();
        } catch (IOException | RuntimeException e) {
            net.close();
            throw e;
        }
        return net;
    }

    private void up() throws IOException {
        run("ip", "netns", "add", ns);
        run("ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", ns);
        run("ip", "addr", "add", HOST_SIDE + "/24", "dev", link);
        run("ip", "link", "set", link, "up");
        run("ip", "-n", ns, "addr", "add", SERVER + "/24", "dev", "eth0");
        run("ip", "-n", ns, "link", "set", "eth0", "up");
        run("ip", "-n", ns, "link", "set", "lo", "up");
        httpd = new ProcessBuilder("ip", "netns", "exec", ns, "busybox", "httpd", "-f", "-p", "80", "-h",
                root.toString()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    }

    /** The folder its web server serves. */
    Path root() {
        return root;
    }

    @Override
    public void close() {
        if (httpd != null) {
            httpd.destroyForcibly();
            try {
                httpd.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        quiet("ip", "link", "del", link);
        quiet("ip", "netns", "del", ns);
    }

    static String run(String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + " failed: " + out);
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } finally {
            p.destroyForcibly();
        }
    }

    private static void quiet(String... command) {
        try {
            run(command);
        } catch (IOException e) {
            // already gone
        }
    }

    /** Lines of {@code command}'s output that contain {@code word}: what is left of ours after a test. */
    static List<String> linesWith(String word, String... command) throws IOException {
        List<String> found = new ArrayList<>();
        for (String line : run(command).split("\n")) {
            if (line.contains(word)) {
                found.add(line.strip());
            }
        }
        return found;
    }
}
