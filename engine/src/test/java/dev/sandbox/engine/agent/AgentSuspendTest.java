package dev.sandbox.engine.agent;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client lets go of its connection and another takes it up where it stood, as a pause and a resume do with the
 * vsock stream kept in the snapshot. The stream here is the real agent's Unix socket behind a relay that, like the
 * vsock device, can send a blocked reader away without losing a byte.
 */
class AgentSuspendTest extends RealAgentTest {

    @Test
    void aResumedClientGoesOnOverTheSameStreamWithoutAHandshake() throws Exception {
        Relay relay = new Relay(rawConnection());
        AgentClient first = new AgentClient(relay, Duration.ofSeconds(30));
        assertEquals("one\n", first.exec("echo", "one").stdoutText());
        Optional<AgentClient.Session> session = first.suspend(Duration.ofSeconds(2), relay::detach);
        assertTrue(session.isPresent(), "an idle client leaves the stream whole");
        assertEquals(first.protocolVersion(), session.get().version());
        assertTrue(session.get().nextId() > 1, "ids go on after the first client's: " + session.get());
        assertTrue(relay.isOpen(), "suspending does not close the stream");

        relay.attach();
        try (AgentClient second = AgentClient.resume(relay, Duration.ofSeconds(30), session.get())) {
            assertEquals(first.agentVersion(), second.agentVersion());
            assertEquals("two\n", second.exec("echo", "two").stdoutText());
            second.ping();
        }
    }

    @Test
    void aCallInFlightFailsClearlyAndItsLateFramesDoNotConfuseTheNextClient() throws Exception {
        Relay relay = new Relay(rawConnection());
        AgentClient first = new AgentClient(relay, Duration.ofSeconds(30));
        CompletableFuture<ExecResult> running = CompletableFuture.supplyAsync(
                () -> first.exec(ExecRequest.shell("echo started; sleep 30")));
        Thread.sleep(300); // the request is out and the command runs
        long t0 = System.nanoTime();
        Optional<AgentClient.Session> session = first.suspend(Duration.ofSeconds(2), relay::detach);
        ExecutionException e = assertThrows(ExecutionException.class, () -> running.get(10, TimeUnit.SECONDS));
        AgentException cause = assertInstanceOf(AgentException.class, e.getCause());
        assertEquals(AgentException.Kind.CLOSED, cause.kind());
        assertTrue(cause.getMessage().contains("paused"), cause.getMessage());
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10), "the call did not hang");
        assertTrue(session.isPresent());
        AgentException refused = assertThrows(AgentException.class, () -> first.exec("true"));
        assertEquals(AgentException.Kind.CLOSED, refused.kind());

        relay.attach();
        try (AgentClient second = AgentClient.resume(relay, Duration.ofSeconds(30), session.get())) {
            // the cancelled command's exit (and any output) arrives on this stream under an id this client never used
            for (int i = 0; i < 5; i++) {
                assertEquals(i + "\n", second.exec("echo", Integer.toString(i)).stdoutText());
            }
        }
    }

    @Test
    void aSessionFromAnotherProtocolIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new AgentClient.Session(AgentCodec.PROTOCOL_VERSION + 1,
                "x", 1, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new AgentClient.Session(AgentCodec.PROTOCOL_VERSION,
                "x", 1, 0, 0));
    }

    @Test
    void aReaderThatCannotBeSentAwayLeavesNoSessionAndClosesTheStream() throws Exception {
        Relay relay = new Relay(rawConnection());
        AgentClient first = new AgentClient(relay, Duration.ofSeconds(30));
        Optional<AgentClient.Session> session = first.suspend(Duration.ofMillis(300), () -> { });
        assertFalse(session.isPresent());
        assertFalse(relay.isOpen());
    }

    /** The socket behind a pump thread: reads block on what it buffered and can be sent away (detach). */
    static final class Relay implements ByteChannel {
        private final SocketChannel socket;
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition changed = lock.newCondition();
        private final ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
        private boolean detached;
        private boolean eof;

        Relay(SocketChannel socket) {
            this.socket = socket;
            buffer.flip();
            Thread.ofPlatform().daemon().start(this::pump);
        }

        private void pump() {
            ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
            try {
                while (socket.read(chunk.clear()) >= 0) {
                    chunk.flip();
                    lock.lock();
                    try {
                        buffer.compact().put(chunk).flip();
                        changed.signalAll();
                    } finally {
                        lock.unlock();
                    }
                }
            } catch (IOException ignored) {
                // closed
            }
            lock.lock();
            try {
                eof = true;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        void detach() {
            lock.lock();
            try {
                detached = true;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        void attach() {
            lock.lock();
            try {
                detached = false;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            lock.lock();
            try {
                while (!buffer.hasRemaining()) {
                    if (detached) {
                        throw new IOException("detached");
                    }
                    if (eof) {
                        return -1;
                    }
                    changed.awaitUninterruptibly();
                }
                if (detached) {
                    throw new IOException("detached");
                }
                int n = Math.min(dst.remaining(), buffer.remaining());
                dst.put(buffer.slice(buffer.position(), n));
                buffer.position(buffer.position() + n);
                return n;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            return socket.write(src);
        }

        @Override
        public boolean isOpen() {
            return socket.isOpen();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
