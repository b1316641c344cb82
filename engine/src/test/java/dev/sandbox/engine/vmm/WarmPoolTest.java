package dev.sandbox.engine.vmm;

import dev.sandbox.engine.PoolGate;
import dev.sandbox.engine.PoolShape;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pool's bookkeeping with stand-in clones: fill, take, refill, gate, idle release, failures, close. */
class WarmPoolTest {
    private static final PoolShape SHAPE = new PoolShape("minimal", 1, 128, null);
    private static final PoolShape OTHER = new PoolShape("minimal", 2, 256, null);

    /** A stand-in clone that records its release. */
    static final class Clone implements AutoCloseable {
        final String entry;
        final AtomicBoolean closed = new AtomicBoolean();

        Clone(String entry) {
            this.entry = entry;
        }

        @Override
        public void close() {
            if (!closed.compareAndSet(false, true)) {
                throw new AssertionError(entry + " closed twice");
            }
        }
    }

    /** A gate with a budget of clones, recording what it holds. */
    static final class Gate implements PoolGate {
        final Set<String> held = ConcurrentHashMap.newKeySet();
        volatile int room;

        Gate(int room) {
            this.room = room;
        }

        @Override
        public synchronized boolean admit(String entry, int vcpus, int memoryMb) {
            if (held.size() >= room) {
                return false;
            }
            return held.add(entry);
        }

        @Override
        public void release(String entry) {
            held.remove(entry);
        }
    }

    private final List<Clone> made = new CopyOnWriteArrayList<>();
    private final AtomicInteger failuresLeft = new AtomicInteger();
    private final AtomicLong now = new AtomicLong();
    private final WarmPool<Clone> pool = new WarmPool<>((shape, entry) -> {
        if (failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            throw new IllegalStateException("restore failed");
        }
        Clone c = new Clone(entry);
        made.add(c);
        return c;
    }, now::get);

    @AfterEach
    void close() {
        pool.close();
        assertTrue(made.stream().allMatch(c -> c.closed.get()), "every clone not taken is released at close");
    }

    @Test
    void fillsToItsSizeAndRefillsAfterATake() throws Exception {
        pool.configure(SHAPE, 2, Duration.ofMinutes(10));
        assertTrue(pool.awaitFull(Duration.ofSeconds(10)));
        assertEquals(Map.of(SHAPE, 2), pool.ready());
        Optional<Clone> taken = pool.take(SHAPE);
        assertTrue(taken.isPresent());
        assertTrue(pool.awaitFull(Duration.ofSeconds(10)), "refilled");
        assertEquals(3, made.size());
        assertFalse(taken.get().closed.get(), "a taken clone is the caller's");
        taken.get().close();
        assertEquals(Optional.empty(), pool.take(OTHER), "a shape nobody configured gets nothing");
    }

    @Test
    void theGateAdmitsEveryCloneAndGetsItsClaimBack() throws Exception {
        Gate gate = new Gate(1);
        pool.gate(gate);
        pool.configure(SHAPE, 3, Duration.ofMinutes(10));
        Thread.sleep(500);
        assertEquals(1, pool.ready().get(SHAPE), "no more than the gate admits");
        assertEquals(1, gate.held.size());
        Clone c = pool.take(SHAPE).orElseThrow();
        assertFalse(gate.held.contains(c.entry), "a taken clone's claim goes back (the sandbox claims its own)");
        c.close();
        gate.room = 3;
        now.addAndGet(Duration.ofSeconds(2).toNanos()); // past the short wait after a refusal
        assertTrue(pool.awaitFull(Duration.ofSeconds(10)));
        assertEquals(3, gate.held.size());
        pool.configure(SHAPE, 0, Duration.ofMinutes(10));
        assertEquals(0, gate.held.size(), "released clones give their claims back");
    }

    @Test
    void aShapeIdleTooLongIsEmptiedUntilTheNextTake() throws Exception {
        pool.configure(SHAPE, 2, Duration.ofSeconds(60));
        assertTrue(pool.awaitFull(Duration.ofSeconds(10)));
        now.addAndGet(Duration.ofSeconds(61).toNanos());
        long deadline = System.nanoTime() + 10_000_000_000L;
        while ((pool.ready().get(SHAPE) > 0 || !made.stream().allMatch(c -> c.closed.get()))
                && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, pool.ready().get(SHAPE));
        assertTrue(made.stream().allMatch(c -> c.closed.get()), "idle clones released");
        Thread.sleep(1500);
        assertEquals(0, pool.ready().get(SHAPE), "not refilled while nobody asks");
        assertEquals(Optional.empty(), pool.take(SHAPE), "the take that finds it empty re-arms it");
        assertTrue(pool.awaitFull(Duration.ofSeconds(10)));
    }

    @Test
    void aFailingRestoreBacksOffAndRecovers() throws Exception {
        failuresLeft.set(1);
        pool.configure(SHAPE, 1, Duration.ofMinutes(10));
        Thread.sleep(500);
        assertEquals(0, pool.ready().get(SHAPE), "failed, and waiting out the back-off");
        now.addAndGet(WarmPool.BACKOFF.toNanos() + 1);
        assertTrue(pool.awaitFull(Duration.ofSeconds(10)));
    }

    @Test
    void shrinkingReleasesTheSurplusAndClosedPoolsRefuse() throws Exception {
        pool.configure(SHAPE, 3, Duration.ofMinutes(10));
        assertTrue(pool.awaitFull(Duration.ofSeconds(10)));
        pool.configure(SHAPE, 1, Duration.ofMinutes(10));
        assertEquals(1, pool.ready().get(SHAPE));
        assertEquals(2, made.stream().filter(c -> c.closed.get()).count());
        assertThrows(IllegalArgumentException.class, () -> pool.configure(SHAPE, -1, Duration.ofMinutes(1)));
        pool.close();
        assertEquals(Optional.empty(), pool.take(SHAPE));
        assertThrows(IllegalStateException.class, () -> pool.configure(SHAPE, 1, Duration.ofMinutes(1)));
    }
}
