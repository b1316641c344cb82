package dev.sandbox.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A stand-in Debian archive for tests: one tiny architecture-all package, {@value #PACKAGE}, in a flat repository
 * ({@code deb [trusted=yes] http://HOST/ ./}) with its index and an unsigned {@code Release}, written by
 * {@code tools/lib/make-test-apt-repo} (needs only dpkg-deb) into a folder a test's web server serves.
 */
final class TestAptRepo {
    static final String PACKAGE = "sandbox-hello";
    static final String COMMAND = "/usr/bin/sandbox-hello";
    static final String GREETING = "hello from a custom template";
    private static final String SCRIPT = "tools/lib/make-test-apt-repo";

    private TestAptRepo() {
    }

    /** Writes the repository into {@code www}. */
    static void write(Path www) throws IOException {
        Process p = new ProcessBuilder(root().resolve(SCRIPT).toString(), www.toString()).redirectErrorStream(true)
                .start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException(SCRIPT + " failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** The repository's root: {@code -Dsandbox.root} (tools/lib/kvm-suite sets it), else above the working dir. */
    private static Path root() throws IOException {
        String given = System.getProperty("sandbox.root");
        if (given != null) {
            return Path.of(given);
        }
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve(SCRIPT))) {
                return d;
            }
        }
        throw new IOException(SCRIPT + " not found above " + Path.of("").toAbsolutePath());
    }
}
