package dev.sandbox.server;

import dev.sandbox.engine.agent.AgentException;
import dev.sandbox.engine.agent.ProcessOutput;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Base64;

/**
 * {@code GET .../processes/{pid}/stream}: a background process's output as NDJSON, from the oldest byte the guest
 * still keeps to the exit. Each line is written and flushed as it comes. Every read is a fresh agent call on the
 * sandbox's connection of the moment, so a pause/resume in between only delays the stream; the offsets it keeps
 * make the resumed stream go on where it stopped. A client that goes away is noticed at the next write (a
 * heartbeat at the latest), and the stream ends holding nothing.
 */
final class ProcessStream {

    private static final Logger LOG = LoggerFactory.getLogger(ProcessStream.class);

    /** How long one agent call waits for output: short, so a pause is not held up by a stream's call. */
    static final Duration READ_WAIT = Duration.ofSeconds(1);
    /** A line after this much silence, so that a client that left is noticed. */
    static final Duration HEARTBEAT = Duration.ofSeconds(15);
    /** How long a stream waits for a paused sandbox to come back before it ends (without an exit line). */
    static final Duration PAUSED_LIMIT = Duration.ofMinutes(10);
    private static final Duration PAUSED_POLL = Duration.ofMillis(500);

    record Data(String type, String data) {}

    record Dropped(String type, String stream, long bytes) {}

    record Exit(String type, int exitCode) {}

    record Heartbeat(String type) {}

    private final SandboxService sandboxes;
    private final Json json;
    private final String id;
    private final int pid;
    private long stdoutOffset;
    private long stderrOffset;
    private long lastWrite = System.nanoTime();

    ProcessStream(SandboxService sandboxes, Json json, String id, int pid) {
        this.sandboxes = sandboxes;
        this.json = json;
        this.id = id;
        this.pid = pid;
    }

    /** Writes one read's lines; true once the exit line is out. */
    boolean write(ProcessOutput o, OutputStream out) throws IOException {
        dropped("stdout", o.stdoutOffset() - stdoutOffset, out);
        dropped("stderr", o.stderrOffset() - stderrOffset, out);
        if (o.stdout().length > 0) {
            line(new Data("stdout", Base64.getEncoder().encodeToString(o.stdout())), out);
        }
        if (o.stderr().length > 0) {
            line(new Data("stderr", Base64.getEncoder().encodeToString(o.stderr())), out);
        }
        stdoutOffset = o.stdoutEnd();
        stderrOffset = o.stderrEnd();
        if (o.exited()) {
            line(new Exit("exit", o.exitCode()), out);
        } else if (System.nanoTime() - lastWrite > HEARTBEAT.toNanos()) {
            line(new Heartbeat("heartbeat"), out);
        }
        out.flush();
        return o.exited();
    }

    /** The first read, before any byte of the response: its failures are ordinary error answers. */
    ProcessOutput first() {
        return sandboxes.readProcessOutput(id, pid, 0, 0, Duration.ZERO);
    }

    /** Reads and writes until the exit, the process or the sandbox is gone, or the client is. */
    void run(ProcessOutput first, OutputStream out) {
        try {
            if (write(first, out)) {
                return;
            }
            long pausedSince = 0;
            while (true) {
                ProcessOutput o;
                try {
                    o = sandboxes.readProcessOutput(id, pid, stdoutOffset, stderrOffset, READ_WAIT);
                    pausedSince = 0;
                } catch (ApiException e) {
                    if (e.error() != ApiError.INVALID_STATE || !sandboxes.mayComeBack(id)) {
                        return; // destroyed, stopped or failed: no exit will come
                    }
                    long now = System.nanoTime();
                    pausedSince = pausedSince == 0 ? now : pausedSince;
                    if (now - pausedSince > PAUSED_LIMIT.toNanos()) {
                        return;
                    }
                    if (now - lastWrite > HEARTBEAT.toNanos()) {
                        line(new Heartbeat("heartbeat"), out);
                        out.flush();
                    }
                    Thread.sleep(PAUSED_POLL);
                    continue;
                }
                if (write(o, out)) {
                    return;
                }
            }
        } catch (AgentException e) {
            LOG.debug("stream of process {} in {} ends: {}", pid, id, e.getMessage()); // forgotten, or channel gone
        } catch (IOException | UncheckedIOException e) {
            LOG.debug("stream of process {} in {}: the client went away", pid, id);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            // the status line is out: ending the response is the only answer left (ErrorMapper could only close it)
            LOG.warn("stream of process {} in {} ends: {}", pid, id, e.toString());
        }
    }

    private void dropped(String stream, long bytes, OutputStream out) throws IOException {
        if (bytes > 0) {
            line(new Dropped("dropped", stream, bytes), out);
        }
    }

    private void line(Object event, OutputStream out) throws IOException {
        out.write(json.write(event));
        out.write('\n');
        lastWrite = System.nanoTime();
    }
}
