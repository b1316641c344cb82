package dev.sandbox.engine.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sandbox.engine.agent.AgentException.Kind;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** AgentClient against the real sandbox-agent binary, run on the host in Unix-socket mode. */
class AgentClientTest extends RealAgentTest {

    private static ExecResult sh(String script) {
        return client.exec(ExecRequest.shell(script));
    }

    @Test
    void handshakeAndPing() {
        assertEquals(AgentCodec.PROTOCOL_VERSION, client.protocolVersion());
        assertTrue(client.agentVersion().startsWith("sandbox-agent"));
        assertFalse(client.agentIsPid1());
        assertTrue(client.ping().toMillis() < 5000);
    }

    @Test
    void echo() {
        ExecResult r = client.exec("echo", "hello", "world");
        assertEquals("hello world\n", r.stdoutText());
        assertEquals("", r.stderrText());
        assertEquals(0, r.exitCode());
        assertEquals(0, r.signal());
        assertTrue(r.succeeded());
        assertFalse(r.timedOut() || r.stdoutTruncated() || r.stderrTruncated());
    }

    @Test
    void exitCodesAndStderr() {
        ExecResult r = sh("echo out; echo err >&2; exit 42");
        assertEquals(42, r.exitCode());
        assertEquals("out\n", r.stdoutText());
        assertEquals("err\n", r.stderrText());

        ExecResult killed = sh("kill -9 $$");
        assertEquals(9, killed.signal());
        assertEquals(137, killed.exitCode());
    }

    @Test
    void notFoundIs127AndNotExecutableIs126() throws IOException {
        ExecResult r = client.exec("no-such-command-anywhere");
        assertEquals(127, r.exitCode());
        assertTrue(r.stderrText().contains("no-such-command-anywhere: command not found"), r.stderrText());

        Path script = dir.resolve("not-executable.sh");
        Files.writeString(script, "echo hi\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rw-r--r--"));
        ExecResult r2 = client.exec(script.toString());
        assertEquals(126, r2.exitCode());
    }

    @Test
    void envCwdAndStdin() {
        ExecResult r = client.exec(ExecRequest.shell("echo \"$GREETING\"; pwd; cat")
                .withEnv(Map.of("GREETING", "hi there")).withCwd("/tmp")
                .withStdin("from stdin".getBytes(StandardCharsets.UTF_8)));
        assertEquals("hi there\n/tmp\nfrom stdin", r.stdoutText());
    }

    @Test
    void missingWorkingDirectoryIsNotFound() {
        AgentException e = assertThrows(AgentException.class,
                () -> client.exec(ExecRequest.of("true").withCwd("/no/such/dir")));
        assertEquals(Kind.NOT_FOUND, e.kind());
    }

    @Test
    void timeoutKeepsPartialOutput() {
        long t0 = System.nanoTime();
        ExecResult r = client.exec(ExecRequest.shell("echo partial; echo e >&2; sleep 30; echo never")
                .withTimeout(Duration.ofMillis(700)));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(r.timedOut());
        assertEquals("partial\n", r.stdoutText());
        assertEquals("e\n", r.stderrText());
        assertEquals(9, r.signal());
        assertTrue(r.duration().toMillis() >= 600, "duration " + r.duration());
        assertTrue(ms < 5000, "took " + ms + " ms");
    }

    @Test
    void binaryOutputIsByteExact() {
        byte[] all = new byte[256 * 4];
        for (int i = 0; i < all.length; i++) {
            all[i] = (byte) i;
        }
        ExecResult r = client.exec(ExecRequest.of("cat").withStdin(all));
        assertArrayEquals(all, r.stdout());
        ExecResult nul = sh("printf 'a\\000b\\377'");
        assertArrayEquals(new byte[] {'a', 0, 'b', (byte) 0xFF}, nul.stdout());
    }

    @Test
    void largeOutputIsCapped() {
        ExecResult capped = client.exec(ExecRequest.shell("head -c 5000000 /dev/zero | tr '\\0' x")
                .withOutputCap(1024 * 1024));
        assertEquals(1024 * 1024, capped.stdout().length);
        assertTrue(capped.stdoutTruncated());
        assertFalse(capped.stderrTruncated());
        assertEquals(0, capped.exitCode());

        ExecResult full = client.exec(ExecRequest.shell("head -c 5000000 /dev/zero | tr '\\0' x"));
        assertEquals(5_000_000, full.stdout().length);
        assertFalse(full.stdoutTruncated());
        for (byte c : full.stdout()) {
            if (c != 'x') {
                throw new AssertionError("byte " + c);
            }
        }
    }

    @Test
    void streamingCallbacks() {
        List<String> events = new ArrayList<>();
        ExecExit x = client.exec(ExecRequest.shell("echo a; sleep 0.2; echo b >&2; sleep 0.2; echo c"),
                new ExecListener() {
                    @Override
                    public void stdout(byte[] chunk) {
                        events.add("out:" + new String(chunk, StandardCharsets.UTF_8).strip());
                    }

                    @Override
                    public void stderr(byte[] chunk) {
                        events.add("err:" + new String(chunk, StandardCharsets.UTF_8).strip());
                    }
                });
        assertEquals(List.of("out:a", "err:b", "out:c"), events);
        assertEquals(0, x.exitCode());
    }

    @Test
    void sixteenConcurrentExecs() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<ExecResult>> results = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                int n = i;
                results.add(pool.submit(() -> sh("sleep 0.5; echo job" + n + "; exit " + n)));
            }
            long t0 = System.nanoTime();
            for (int i = 0; i < 16; i++) {
                ExecResult r = results.get(i).get(30, TimeUnit.SECONDS);
                assertEquals("job" + i + "\n", r.stdoutText());
                assertEquals(i, r.exitCode());
            }
            // they ran at once: 16 x 0.5 s in series would be 8 s
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < 6000);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void concurrentConnections() throws Exception {
        List<CompletableFuture<String>> fs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int n = i;
            fs.add(CompletableFuture.supplyAsync(() -> {
                try (AgentClient c = agent.connect()) {
                    return c.exec("echo", "conn" + n).stdoutText();
                }
            }));
        }
        for (int i = 0; i < 8; i++) {
            assertEquals("conn" + i + "\n", fs.get(i).get(30, TimeUnit.SECONDS));
        }
    }

    @Test
    void fiftyMebibyteFileRoundTrip() throws IOException {
        byte[] data = new byte[50 * 1024 * 1024];
        new Random(42).nextBytes(data);
        String path = dir.resolve("deep/er/big.bin").toString();
        long written = client.writeFile(path, new ByteArrayInputStream(data), 0600, Duration.ofSeconds(60));
        assertEquals(data.length, written);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(Path.of(path))));
        ByteArrayOutputStream out = new ByteArrayOutputStream(data.length);
        long read = client.readFile(path, out, Long.MAX_VALUE, Duration.ofSeconds(60));
        assertEquals(data.length, read);
        assertArrayEquals(data, out.toByteArray());
        // no temp files left beside it
        try (var s = Files.list(Path.of(path).getParent())) {
            assertEquals(List.of("big.bin"), s.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void smallFileAndOverwrite() {
        String path = dir.resolve("small.txt").toString();
        client.writeFile(path, "one".getBytes(StandardCharsets.UTF_8), 0644);
        client.writeFile(path, "two".getBytes(StandardCharsets.UTF_8), 0644);
        assertEquals("two", new String(client.readFile(path), StandardCharsets.UTF_8));
        client.writeFile(dir.resolve("empty").toString(), new byte[0], 0644);
        assertEquals(0, client.readFile(dir.resolve("empty").toString()).length);
    }

    @Test
    void fileErrorsAreTyped() {
        assertEquals(Kind.NOT_FOUND, assertThrows(AgentException.class,
                () -> client.readFile(dir.resolve("missing").toString())).kind());
        assertEquals(Kind.IS_DIRECTORY, assertThrows(AgentException.class,
                () -> client.readFile(dir.toString())).kind());
        String small = dir.resolve("ten.txt").toString();
        client.writeFile(small, new byte[10], 0644);
        assertEquals(Kind.TOO_LARGE, assertThrows(AgentException.class,
                () -> client.readFile(small, new ByteArrayOutputStream(), 5, Duration.ofSeconds(10))).kind());
        assertEquals(Kind.IS_DIRECTORY, assertThrows(AgentException.class,
                () -> client.writeFile(dir.toString(), new byte[1], 0644)).kind());
        assertEquals(Kind.INVALID, assertThrows(AgentException.class,
                () -> client.readFile("relative/path")).kind());
        // the connection is still fine afterwards
        assertEquals(0, client.exec("true").exitCode());
    }

    @Test
    void backgroundProcessSurvives() throws Exception {
        long t0 = System.nanoTime();
        ExecResult r = sh("sleep 60 & echo $!");
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < 3000, "waited for the background");
        String pid = r.stdoutText().strip();
        assertEquals(0, r.exitCode());
        assertEquals(0, client.exec("kill", "-0", pid).exitCode(), "background process " + pid + " is gone");
        assertEquals(0, client.exec("kill", pid).exitCode());

        // a background child holding the output pipe open must not stall the reply either
        t0 = System.nanoTime();
        ExecResult held = sh("(sleep 5; echo late) & echo early");
        assertEquals("early\n", held.stdoutText());
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < 3000);
    }

    @Test
    void asyncExecCanBeCancelled() throws Exception {
        CompletableFuture<ExecExit> f = client.execAsync(ExecRequest.shell("sleep 30"), ExecListener.DISCARD);
        Thread.sleep(200);
        f.cancel(true);
        assertTrue(f.isCancelled());
        // the agent killed it: the connection keeps working
        assertEquals("ok\n", client.exec("echo", "ok").stdoutText());
        ExecExit x = client.execAsync(ExecRequest.of("true"), ExecListener.DISCARD).get(10, TimeUnit.SECONDS);
        assertEquals(0, x.exitCode());
    }

    @Test
    void clockEntropyQuiesce() {
        AgentClient.ClockSync s = client.syncClock();
        assertFalse(s.applied()); // not PID 1: the agent only reports its time
        assertTrue(Duration.between(s.previous(), Instant.now()).abs().toSeconds() < 5);
        assertFalse(client.addEntropy(new byte[64])); // mixed into /dev/urandom, not credited
        client.quiesce();
    }

    @Test
    void callTimeoutCancelsTheUpload() throws Exception {
        Path target = dir.resolve("slow/upload.bin");
        java.io.InputStream slow = new java.io.InputStream() {
            @Override
            public int read() {
                return 0;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return len;
            }
        };
        AgentException e = assertThrows(AgentException.class,
                () -> client.writeFile(target.toString(), slow, 0644, Duration.ofMillis(300)));
        assertEquals(Kind.TIMEOUT, e.kind());
        // the agent dropped the upload: neither the file nor its temp file stays
        client.ping();
        try (var s = Files.list(target.getParent())) {
            assertEquals(List.of(), s.toList());
        }
        assertEquals(0, client.exec("true").exitCode());
    }

    @Test
    void malformedInputClosesOnlyThatConnection() throws Exception {
        try (SocketChannel raw = rawConnection()) {
            raw.write(ByteBuffer.wrap(new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 1, 0, 0, 0,
                    0, 0, 0, 0}));
            ByteBuffer in = ByteBuffer.allocate(4096);
            while (raw.read(in) >= 0) {
                // the agent answers ERROR then closes
            }
            in.flip();
            AgentMessage m = AgentCodec.decode(in).message();
            assertEquals(Kind.INVALID, ((AgentMessage.Failure) m).toException().kind());
        }
        try (SocketChannel raw = rawConnection()) {
            raw.write(AgentCodec.encode(1, new AgentMessage.Ping(new byte[1]))); // before HELLO
            ByteBuffer in = ByteBuffer.allocate(4096);
            while (raw.read(in) >= 0) {
                // closed
            }
        }
        assertTrue(client.isOpen());
        assertEquals(0, client.exec("true").exitCode());
        assertTrue(agent.process.isAlive());
    }

    @Test
    void closedClientFailsWithClosed() {
        AgentClient c = agent.connect();
        c.close();
        assertEquals(Kind.CLOSED, assertThrows(AgentException.class, c::ping).kind());
    }

    @Test
    void agentIsAliveAfterAll() throws ExecutionException, InterruptedException {
        assertTrue(agent.process.isAlive());
    }
}
