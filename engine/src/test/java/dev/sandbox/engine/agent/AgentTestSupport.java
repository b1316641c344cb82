package dev.sandbox.engine.agent;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Finds the repository's guest-agent-c and runs the real agent binary on the host, listening on a Unix socket. */
final class AgentTestSupport {

    private AgentTestSupport() {}

    /** The directory containing guest-agent-c, found by walking up from the working directory. */
    static Path repoRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("guest-agent-c"))) {
                return p;
            }
        }
        throw new IllegalStateException("no guest-agent-c above " + Path.of("").toAbsolutePath());
    }

    static Path fixtures() {
        return repoRoot().resolve("guest-agent-c/fixtures");
    }

    /** {@code -Dsandbox.agent.binary}, else {@code <repo>/guest-agent-c/build/sandbox-agent}. */
    static Path agentBinary() {
        String prop = System.getProperty("sandbox.agent.binary");
        Path bin = prop != null && !prop.isBlank() ? Path.of(prop)
                : repoRoot().resolve("guest-agent-c/build/sandbox-agent");
        if (!Files.isExecutable(bin)) {
            fail("agent binary " + bin + " not found: run `make -C guest-agent-c` first"
                    + " (or point -Dsandbox.agent.binary at one)");
        }
        return bin;
    }

    /** A running agent process in Unix-socket mode; close() kills it. */
    static final class RunningAgent implements AutoCloseable {
        final Process process;
        final Path socket;
        final Path log;

        RunningAgent(Path dir) throws IOException, InterruptedException {
            socket = dir.resolve("agent.sock");
            log = dir.resolve("agent.log");
            process = new ProcessBuilder(agentBinary().toString(), "--unix", socket.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            // the socket file appears at bind(), before listen(): wait for the line the agent logs after listen()
            while (!Files.exists(socket) || !Files.readString(log).contains("listening on unix:")) {
                if (!process.isAlive()) {
                    fail("agent exited with " + process.exitValue() + ": " + Files.readString(log));
                }
                if (System.nanoTime() > deadline) {
                    fail("agent did not listen on " + socket + " within 10 s");
                }
                Thread.sleep(10);
            }
        }

        AgentClient connect() {
            return AgentClient.connectUnix(socket, Duration.ofSeconds(60));
        }

        @Override
        public void close() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
