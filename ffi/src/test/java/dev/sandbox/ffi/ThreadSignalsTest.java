package dev.sandbox.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ThreadSignalsTest {
    @Test
    void kickSignalIsSigrtminPlusFive() {
        assertEquals(34, Libc.sigrtmin(), "glibc NPTL keeps 32 and 33");
        assertEquals(39, ThreadSignals.KICK_SIGNAL);
    }

    /** A thread blocked in sigtimedwait returns when kicked; the latency is printed. */
    @Test
    void kickWakesAThreadBlockedInASyscall() throws Exception {
        int rounds = 20;
        SynchronousQueue<ThreadSignals> ready = new SynchronousQueue<>();
        AtomicLong wokeAt = new AtomicLong();
        SynchronousQueue<Boolean> woke = new SynchronousQueue<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread waiter = Thread.ofPlatform().name("kick-waiter").start(() -> {
            try (ThreadSignals signals = ThreadSignals.blockInCurrentThread()) {
                for (int i = 0; i < rounds; i++) {
                    ready.put(signals);
                    boolean got = signals.await(Duration.ofSeconds(10));
                    wokeAt.set(System.nanoTime());
                    woke.put(got);
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        long[] micros = new long[rounds];
        for (int i = 0; i < rounds; i++) {
            ThreadSignals signals = ready.poll(10, TimeUnit.SECONDS);
            assertNotNull(signals, "waiter never got ready: " + failure.get());
            Thread.sleep(5); // let it enter sigtimedwait
            long sent = System.nanoTime();
            assertTrue(signals.kick());
            Boolean got = woke.poll(2, TimeUnit.SECONDS);
            assertEquals(Boolean.TRUE, got, "kick did not wake the waiter within 2 s");
            micros[i] = (wokeAt.get() - sent) / 1000;
        }
        waiter.join(5000);
        assertFalse(waiter.isAlive());
        assertEquals(null, failure.get());
        java.util.Arrays.sort(micros);
        System.out.printf("kick latency (pthread_kill -> sigtimedwait return), %d rounds: min %d us, median %d us,"
                + " max %d us%n", rounds, micros[0], micros[rounds / 2], micros[rounds - 1]);
        assertTrue(micros[rounds / 2] < 100_000, "median kick latency over 100 ms");
    }

    @Test
    void kickWhileNotWaitingStaysPendingUntilDrained() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try (ThreadSignals signals = ThreadSignals.blockInCurrentThread()) {
                assertFalse(signals.isPending());
                assertTrue(signals.kick()); // to itself: blocked, so pending rather than fatal
                assertTrue(signals.isPending());
                assertTrue(signals.drain());
                assertFalse(signals.isPending());
                assertFalse(signals.drain());
                byte[] mask = signals.kernelMaskWithSignalUnblocked();
                assertEquals(8, mask.length);
                int bit = signals.signal() - 1;
                assertEquals(0, mask[bit / 8] & (1 << (bit % 8)), "kick signal must be unblocked in the mask");
                signals.kick(); // left pending: close must drain it before unblocking, or the JVM dies
                signals.kick(); // real-time signals queue: a second one must be drained as well
                done.complete(null);
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        });
        done.join();
    }

    @Test
    void closedSignalsSendNothingAndOnlyTheOwnerMayDrain() throws Exception {
        AtomicReference<ThreadSignals> ref = new AtomicReference<>();
        Thread owner = Thread.ofPlatform().start(() -> ref.set(ThreadSignals.blockInCurrentThread()));
        owner.join();
        ThreadSignals signals = ref.get();
        assertThrows(IllegalStateException.class, signals::drain);
        assertThrows(IllegalStateException.class, signals::close);
        CompletableFuture<Boolean> kicked = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try (ThreadSignals s = ThreadSignals.blockInCurrentThread()) {
                s.close();
                kicked.complete(s.kick());
            }
        });
        assertFalse(kicked.get(5, TimeUnit.SECONDS));
    }

    @Test
    void virtualThreadsAreRefused() throws Exception {
        CompletableFuture<Throwable> result = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                ThreadSignals.blockInCurrentThread().close();
                result.complete(null);
            } catch (Throwable t) {
                result.complete(t);
            }
        });
        assertTrue(result.get(5, TimeUnit.SECONDS) instanceof IllegalStateException);
    }
}
