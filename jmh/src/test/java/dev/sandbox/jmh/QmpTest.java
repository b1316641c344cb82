package dev.sandbox.jmh;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QmpTest {
    private static final String GREETING = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2,"
            + " \"major\": 7}, \"package\": \"Debian\"}, \"capabilities\": [\"oob\"]}}";

    @Test
    void readsTheFourKindsOfMessage() throws IOException {
        assertEquals(new Qmp.Greeting("7.2.22"), Qmp.parse(GREETING));
        Qmp.Return r = assertInstanceOf(Qmp.Return.class,
                Qmp.parse("{\"return\": {\"status\": \"completed\", \"total-time\": 130}}"));
        assertEquals("completed", r.value().path("status").asText());
        assertEquals(new Qmp.Error("GenericError", "There's a migration process in progress"),
                Qmp.parse("{\"error\": {\"class\": \"GenericError\", \"desc\": \"There's a migration process in"
                        + " progress\"}}"));
        Qmp.Event e = assertInstanceOf(Qmp.Event.class, Qmp.parse("{\"timestamp\": {\"seconds\": 1,"
                + " \"microseconds\": 2}, \"event\": \"STOP\"}"));
        assertEquals("STOP", e.name());
        assertThrows(IOException.class, () -> Qmp.parse("{\"something\": 1}"));
        assertThrows(IOException.class, () -> Qmp.parse("[1]"));
    }

    @Test
    void writesACommandAsOneLine() {
        assertEquals("{\"execute\":\"stop\"}\n", Qmp.request("stop", Map.of()));
        assertEquals("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"unix:/tmp/m.sock\"}}\n",
                Qmp.request("migrate", Map.of("uri", "unix:/tmp/m.sock")));
    }

    /** A stand-in QEMU: greets, then answers each line with the next canned reply (events before some). */
    @Test
    void executeSkipsEventsAndSurfacesErrors(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("qmp.sock");
        List<String> received = new ArrayList<>();
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            CompletableFuture<Void> qemu = CompletableFuture.runAsync(() -> {
                try (SocketChannel c = server.accept();
                     BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c),
                             StandardCharsets.UTF_8));
                     OutputStream out = Channels.newOutputStream(c)) {
                    send(out, GREETING);
                    for (String reply : List.of("{\"return\": {}}",
                            "{\"event\": \"STOP\"}\n{\"return\": {}}",
                            "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no such file\"}}")) {
                        received.add(in.readLine());
                        send(out, reply);
                    }
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            try (Qmp qmp = Qmp.connect(socket, System.nanoTime() + 5_000_000_000L, Duration.ofSeconds(5),
                    () -> true)) {
                assertTrue(qmp.execute("stop", Map.of()).isEmpty());
                IOException e = assertThrows(IOException.class,
                        () -> qmp.execute("migrate-incoming", Map.of("uri", "exec:cat x")));
                assertTrue(e.getMessage().contains("no such file"), e.getMessage());
            }
            qemu.get(5, TimeUnit.SECONDS);
        }
        assertEquals(List.of("{\"execute\":\"qmp_capabilities\"}", "{\"execute\":\"stop\"}",
                "{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"exec:cat x\"}}"), received);
    }

    @Test
    void aQemuThatGoesAwayFailsTheCallAtOnce(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("qmp.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            CompletableFuture<Void> qemu = CompletableFuture.runAsync(() -> {
                try (SocketChannel c = server.accept();
                     BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c),
                             StandardCharsets.UTF_8));
                     OutputStream out = Channels.newOutputStream(c)) {
                    send(out, GREETING);
                    in.readLine(); // qmp_capabilities
                    send(out, "{\"return\": {}}");
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            try (Qmp qmp = Qmp.connect(socket, System.nanoTime() + 5_000_000_000L, Duration.ofMinutes(5),
                    () -> true)) {
                qemu.get(5, TimeUnit.SECONDS);
                long t0 = System.nanoTime();
                IOException e = assertThrows(IOException.class, () -> qmp.execute("query-status", Map.of()));
                assertTrue(e.getMessage().contains("closed"), e.getMessage());
                assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "waited for the timeout instead");
            }
        }
    }

    @Test
    void noSocketGivesUpAtTheDeadlineOrWhenQemuExited(@TempDir Path dir) {
        assertThrows(IOException.class, () -> Qmp.connect(dir.resolve("none.sock"),
                System.nanoTime() + 50_000_000L, Duration.ofSeconds(1), () -> true));
        long t0 = System.nanoTime();
        IOException e = assertThrows(IOException.class, () -> Qmp.connect(dir.resolve("none.sock"),
                System.nanoTime() + 60_000_000_000L, Duration.ofSeconds(1), () -> false));
        assertTrue(e.getMessage().contains("exited"), e.getMessage());
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "waited for the deadline instead");
    }

    private static void send(OutputStream out, String lines) throws IOException {
        out.write((lines + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
