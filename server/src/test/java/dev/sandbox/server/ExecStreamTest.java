package dev.sandbox.server;

import dev.sandbox.engine.agent.ExecExit;
import dev.sandbox.engine.agent.ExecListener;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link ExecStream} alone: the bound on what it holds, the producer held back, the stall limit, the one last event. */
class ExecStreamTest {

    static final int CHUNK = 64 * 1024;
    static final ExecExit OK = new ExecExit(0, 0, false, false, false, Duration.ofMillis(5));

    @Test
    void aFullBufferHoldsTheProducerBackAndMemoryStaysBounded() throws Exception {
        ExecStream s = new ExecStream(Integer.MAX_VALUE);
        ExecListener producer = s.listener();
        AtomicInteger put = new AtomicInteger();
        int chunks = 20;  // 1.25 MiB: five times the buffer
        Thread t = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < chunks; i++) {
                producer.stdout(new byte[CHUNK]);
                put.incrementAndGet();
            }
            s.exited(OK);
        });
        waitUntilBlocked(t);
        assertEquals(ExecStream.BUFFER_BYTES / CHUNK, put.get(), "chunks taken before the buffer is full");
        assertTrue(s.queuedBytes() <= ExecStream.BUFFER_BYTES);
        long total = 0;
        ExecStream.Event e;
        ExecStream.Event last = null;
        while ((e = s.next()) != null) {
            assertTrue(s.queuedBytes() <= ExecStream.BUFFER_BYTES, "never more than the bound held");
            if (e instanceof ExecStream.Output o) {
                total += o.data().length;
            } else {
                last = e;
            }
        }
        t.join(10_000);
        assertEquals((long) chunks * CHUNK, total);
        assertInstanceOf(ExecStream.Exit.class, last);
    }

    @Test
    void aReaderThatTakesNothingPastTheStallLimitEndsTheStream() throws Exception {
        ExecStream s = new ExecStream(Integer.MAX_VALUE, Duration.ofMillis(200));
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                for (int i = 0; i < 100; i++) {
                    s.listener().stdout(new byte[CHUNK]);
                }
            } catch (RuntimeException e) {
                thrown.set(e);
            }
        });
        t.join(10_000);
        assertFalse(t.isAlive());
        assertInstanceOf(ExecStream.Ended.class, thrown.get(), "the engine is told to stop the command");
        ExecStream.Event e;
        ExecStream.Event last = null;
        int outputs = 0;
        while ((e = s.next()) != null) {
            if (e instanceof ExecStream.Output) {
                outputs++;
                assertNull(last, "output after the last event");
            } else {
                last = e;
            }
        }
        assertEquals(ExecStream.BUFFER_BYTES / CHUNK, outputs, "what was buffered still comes");
        ExecStream.Failure f = assertInstanceOf(ExecStream.Failure.class, last);
        assertEquals("timeout", f.code());
    }

    @Test
    void closingFreesABlockedProducerAndStopsTheEngineCall() throws Exception {
        ExecStream s = new ExecStream(Integer.MAX_VALUE);
        CountDownLatch engineInterrupted = new CountDownLatch(1);
        s.start(() -> {
            try {
                Thread.sleep(60_000);  // an engine call waiting for the command's exit
            } catch (InterruptedException e) {
                engineInterrupted.countDown();
            }
        });
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread producer = Thread.ofPlatform().start(() -> {
            try {
                for (int i = 0; i < 100; i++) {
                    s.listener().stderr(new byte[CHUNK]);
                }
            } catch (RuntimeException e) {
                thrown.set(e);
            }
        });
        waitUntilBlocked(producer);
        s.close();
        producer.join(10_000);
        assertInstanceOf(ExecStream.Ended.class, thrown.get());
        assertTrue(engineInterrupted.await(10, TimeUnit.SECONDS), "the engine call was not stopped");
        assertEquals(0, s.queuedBytes(), "a closed stream holds nothing");
    }

    @Test
    void theFirstEndWinsAndComesAfterTheOutput() throws Exception {
        ExecStream s = new ExecStream(Integer.MAX_VALUE);
        s.listener().stdout("a".getBytes());
        s.exited(OK);
        s.interrupt(ApiError.INVALID_STATE, "too late");
        s.fail(ApiError.AGENT_ERROR, "too late");
        assertInstanceOf(ExecStream.Output.class, s.next());
        ExecStream.Exit x = assertInstanceOf(ExecStream.Exit.class, s.next());
        assertEquals(0, x.exitCode());
        assertNull(s.next());
        assertNull(s.next());
    }

    @Test
    void outputPastTheCapIsDroppedAndFlagged() throws Exception {
        ExecStream s = new ExecStream(10);
        s.listener().stdout(new byte[7]);
        s.listener().stdout(new byte[7]);
        s.listener().stderr(new byte[3]);
        s.exited(OK);
        assertEquals(7, ((ExecStream.Output) s.next()).data().length);
        assertEquals(3, ((ExecStream.Output) s.next()).data().length);
        assertEquals(3, ((ExecStream.Output) s.next()).data().length);
        assertTrue(assertInstanceOf(ExecStream.Exit.class, s.next()).truncated());
    }

    @Test
    void aTimedOutCommandExitsWith124() throws Exception {
        ExecStream s = new ExecStream(10);
        s.exited(new ExecExit(137, 9, true, false, false, Duration.ofSeconds(1)));
        ExecStream.Exit x = assertInstanceOf(ExecStream.Exit.class, s.next());
        assertEquals(124, x.exitCode());
        assertTrue(x.timedOut());
        assertEquals(1000, x.durationMs());
    }

    private static void waitUntilBlocked(Thread t) {
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            while (t.getState() != Thread.State.TIMED_WAITING && t.getState() != Thread.State.WAITING) {
                Thread.sleep(5);
            }
        });
    }
}
