package dev.sandbox.engine.vmm;

import dev.sandbox.engine.PoolGate;
import dev.sandbox.engine.PoolShape;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * Clones restored ahead of time, per {@link PoolShape}: {@link #take} hands one out at once, and one filler thread
 * restores the next in the background, one clone at a time (a restore is the host's heaviest work; creates that
 * miss the pool should not queue behind many). Every clone is admitted by the {@link PoolGate} first and gives its
 * claim back when taken or released. A shape with no take for longer than its idle time is emptied and not refilled
 * until the next take. A clone that fails to make backs its shape off for {@link #BACKOFF}.
 *
 * @param <E> a pooled clone; closing it releases the VM and what it holds
 */
final class WarmPool<E extends AutoCloseable> implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(WarmPool.class.getName());
    static final Duration BACKOFF = Duration.ofSeconds(10);

    /** Restores one clone of {@code shape} named {@code entry}; throws if it cannot. */
    interface Maker<E> {
        E make(PoolShape shape, String entry);
    }

    private record Ready<E>(String entry, E item) {
    }

    private static final class Shape<E> {
        final ArrayDeque<Ready<E>> ready = new ArrayDeque<>();
        int target;
        long idleNanos;
        long lastDemand;
        long backoffUntil;
        boolean making;
    }

    private final Maker<E> maker;
    private final LongSupplier clock;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Map<PoolShape, Shape<E>> shapes = new LinkedHashMap<>();
    private volatile PoolGate gate = PoolGate.OPEN;
    private boolean closed;
    private Thread filler;

    WarmPool(Maker<E> maker) {
        this(maker, System::nanoTime);
    }

    WarmPool(Maker<E> maker, LongSupplier clock) {
        this.maker = maker;
        this.clock = clock;
    }

    void gate(PoolGate gate) {
        this.gate = gate;
    }

    /** Sets a shape's size and idle time; 0 releases its clones. Starts the filler on first use. */
    void configure(PoolShape shape, int size, Duration idle) {
        if (size < 0 || idle.isNegative() || idle.isZero()) {
            throw new IllegalArgumentException("a pool size of 0 or more and a positive idle time: " + size + ", "
                    + idle);
        }
        List<Ready<E>> dropped = new ArrayList<>();
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("the pool is closed");
            }
            Shape<E> s = shapes.computeIfAbsent(shape, k -> new Shape<>());
            s.target = size;
            s.idleNanos = idle.toNanos();
            s.lastDemand = clock.getAsLong();
            while (s.ready.size() > size) {
                dropped.add(s.ready.pollLast());
            }
            if (size == 0 && s.ready.isEmpty() && !s.making) {
                shapes.remove(shape);
            }
            if (filler == null) {
                filler = Thread.ofPlatform().daemon().name("warm-pool").start(this::fill);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        dropped.forEach(this::release);
    }

    /** A ready clone of {@code shape}, or empty; either way the shape counts as in demand and refills. */
    Optional<E> take(PoolShape shape) {
        Ready<E> got;
        lock.lock();
        try {
            Shape<E> s = shapes.get(shape);
            if (s == null || closed) {
                return Optional.empty();
            }
            s.lastDemand = clock.getAsLong();
            got = s.ready.pollFirst();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (got == null) {
            return Optional.empty();
        }
        gate.release(got.entry());
        return Optional.of(got.item());
    }

    /** Ready clones per configured shape. */
    Map<PoolShape, Integer> ready() {
        lock.lock();
        try {
            Map<PoolShape, Integer> out = new LinkedHashMap<>();
            shapes.forEach((k, v) -> out.put(k, v.ready.size()));
            return out;
        } finally {
            lock.unlock();
        }
    }

    /** The ready clones, for what they hold (files in use); do not close them. */
    List<E> clones() {
        lock.lock();
        try {
            List<E> out = new ArrayList<>();
            shapes.values().forEach(s -> s.ready.forEach(r -> out.add(r.item())));
            return out;
        } finally {
            lock.unlock();
        }
    }

    /** Waits until every shape has its target ready (tests, benchmarks); false at the deadline. */
    boolean awaitFull(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (shapes.values().stream().anyMatch(s -> s.ready.size() < s.target)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                changed.awaitNanos(left);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Stops the filler (waiting for a clone being made) and releases every ready clone. */
    @Override
    public void close() {
        Thread f;
        List<Ready<E>> dropped = new ArrayList<>();
        lock.lock();
        try {
            closed = true;
            f = filler;
            shapes.values().forEach(s -> dropped.addAll(s.ready));
            shapes.clear();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (f != null) {
            try {
                f.join(TimeUnit.SECONDS.toMillis(120));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        dropped.forEach(this::release);
    }

    private void fill() {
        while (true) {
            PoolShape next;
            List<Ready<E>> idle = new ArrayList<>();
            lock.lock();
            try {
                next = null;
                long now = clock.getAsLong();
                long wait = TimeUnit.SECONDS.toNanos(1);
                for (Map.Entry<PoolShape, Shape<E>> e : shapes.entrySet()) {
                    Shape<E> s = e.getValue();
                    if (now - s.lastDemand > s.idleNanos) {
                        idle.addAll(s.ready); // released below, outside the lock
                        s.ready.clear();
                    } else if (next == null && s.ready.size() < s.target && now >= s.backoffUntil) {
                        next = e.getKey();
                        s.making = true;
                    }
                }
                if (closed) {
                    return;
                }
                if (next == null && idle.isEmpty()) {
                    try {
                        changed.awaitNanos(wait);
                    } catch (InterruptedException e) {
                        return;
                    }
                    continue;
                }
            } finally {
                lock.unlock();
            }
            idle.forEach(r -> {
                LOG.log(System.Logger.Level.INFO, "warm pool: {0} idle too long, released", r.entry());
                release(r);
            });
            if (next != null) {
                makeOne(next);
            }
        }
    }

    private void makeOne(PoolShape shape) {
        String entry = "pool-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffff_ffffL);
        E clone = null;
        boolean admitted = gate.admit(entry, shape.vcpus(), shape.memoryMb());
        if (admitted) {
            try {
                clone = maker.make(shape, entry);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "warm pool: making a clone of " + shape + " failed; trying"
                        + " again in " + BACKOFF.toSeconds() + " s", e);
                gate.release(entry);
            }
        }
        boolean keep = false;
        lock.lock();
        try {
            Shape<E> s = shapes.get(shape);
            if (s != null) {
                s.making = false;
                if (clone == null) {
                    // refused by the gate (no room) or failed: wait before asking again
                    s.backoffUntil = clock.getAsLong() + (admitted ? BACKOFF.toNanos() : TimeUnit.SECONDS.toNanos(1));
                } else if (!closed && s.ready.size() < s.target) {
                    s.ready.addLast(new Ready<>(entry, clone));
                    keep = true;
                }
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
        if (clone != null && !keep) {
            release(new Ready<>(entry, clone));
        }
    }

    private void release(Ready<E> r) {
        try {
            r.item().close();
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "warm pool: releasing " + r.entry() + " failed", e);
        } finally {
            gate.release(r.entry());
        }
    }
}
