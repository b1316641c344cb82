package dev.sandbox.jmh;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A QMP client on QEMU's unix socket ({@code -qmp unix:PATH,server=on,wait=off}): one command at a time, events
 * skipped. A reader thread hands each line over, so every wait has a deadline even when QEMU hangs.
 */
final class Qmp implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Stands for the end of the stream in the queue. */
    private static final String EOF = "\0eof";

    /** What QEMU sends: one JSON object per line. */
    sealed interface Message {
    }

    record Greeting(String version) implements Message {
    }

    record Return(JsonNode value) implements Message {
    }

    record Error(String errorClass, String description) implements Message {
    }

    record Event(String name, JsonNode data) implements Message {
    }

    private final SocketChannel channel;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final Duration timeout;

    private Qmp(SocketChannel channel, Duration timeout) {
        this.channel = channel;
        this.timeout = timeout;
        Thread.ofVirtual().name("qmp-reader").start(this::readLines);
    }

    /**
     * Connects as soon as QEMU listens (it creates the socket while it starts), reads the greeting and leaves
     * capabilities negotiation; gives up at {@code deadline} ({@link System#nanoTime()}), or at once when
     * {@code alive} says QEMU has exited (a bad option, no KVM).
     */
    static Qmp connect(Path socket, long deadline, Duration timeout, BooleanSupplier alive)
            throws IOException, InterruptedException {
        SocketChannel ch = null;
        while (ch == null) {
            try {
                ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
            } catch (IOException e) {
                if (!alive.getAsBoolean()) {
                    throw new IOException("QEMU exited before its QMP socket " + socket + " answered", e);
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new IOException("QMP socket " + socket + " did not answer: " + e.getMessage(), e);
                }
                Thread.sleep(0, 200_000);
            }
        }
        Qmp qmp = new Qmp(ch, timeout);
        try {
            if (!(qmp.next() instanceof Greeting)) {
                throw new IOException("QMP: no greeting");
            }
            qmp.execute("qmp_capabilities", Map.of());
            return qmp;
        } catch (IOException | InterruptedException | RuntimeException e) {
            qmp.close();
            throw e;
        }
    }

    /** Runs {@code command}; its {@code return} value, or an IOException with QEMU's error. */
    JsonNode execute(String command, Map<String, ?> arguments) throws IOException, InterruptedException {
        try {
            channel.write(ByteBuffer.wrap(request(command, arguments).getBytes(StandardCharsets.UTF_8)));
        } catch (IOException e) { // the reader closes the channel when QEMU closes its end
            throw new IOException("QMP " + command + ": QEMU closed the connection (" + e + ")", e);
        }
        while (true) {
            switch (next()) {
                case Return r -> {
                    return r.value();
                }
                case Error e -> throw new IOException("QMP " + command + ": " + e.errorClass() + ": "
                        + e.description());
                case Greeting g -> throw new IOException("QMP: a second greeting");
                case Event ev -> {
                    // STOP, RESUME, MIGRATION...: the caller polls instead
                }
            }
        }
    }

    /** One command as a line of JSON. */
    static String request(String command, Map<String, ?> arguments) {
        ObjectNode req = JSON.createObjectNode().put("execute", command);
        if (!arguments.isEmpty()) {
            req.set("arguments", JSON.valueToTree(arguments));
        }
        return req + "\n";
    }

    /** Reads one line QEMU sent. */
    static Message parse(String line) throws IOException {
        JsonNode n = JSON.readTree(line);
        if (n == null || !n.isObject()) {
            throw new IOException("QMP: not a JSON object: " + line);
        }
        if (n.has("QMP")) {
            JsonNode v = n.path("QMP").path("version").path("qemu");
            return new Greeting(v.path("major").asInt() + "." + v.path("minor").asInt() + "."
                    + v.path("micro").asInt());
        }
        if (n.has("return")) {
            return new Return(n.get("return"));
        }
        if (n.has("error")) {
            return new Error(n.path("error").path("class").asText(), n.path("error").path("desc").asText());
        }
        if (n.has("event")) {
            return new Event(n.get("event").asText(), n.path("data"));
        }
        throw new IOException("QMP: unknown message: " + line);
    }

    private Message next() throws IOException, InterruptedException {
        String line = lines.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (line == null) {
            throw new IOException("QMP: no answer in " + timeout);
        }
        if (line == EOF) { // identity: the marker itself, never a line read
            lines.add(EOF); // later calls fail too
            throw new IOException("QMP: QEMU closed the connection");
        }
        return parse(line);
    }

    private void readLines() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (!line.isBlank()) {
                    lines.add(line);
                }
            }
        } catch (IOException e) {
            // closed by close(), or QEMU went away: either way the stream ends here
        } finally {
            lines.add(EOF);
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // nothing left to release
        }
    }
}
