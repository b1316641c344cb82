package dev.sandbox.load;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** Latencies (microseconds) and failures per operation, safe to record from many clients at once. */
public final class Stats {

    // Up to 10 minutes per request at 3 significant digits.
    private static final long MAX_MICROS = 600_000_000L;

    private final Map<Operation, Recorder> recorders = new EnumMap<>(Operation.class);
    private final Map<Operation, AtomicLong> failures = new EnumMap<>(Operation.class);

    public Stats() {
        for (Operation op : Operation.values()) {
            recorders.put(op, new Recorder(MAX_MICROS, 3));
            failures.put(op, new AtomicLong());
        }
    }

    public void record(Operation op, long nanos) {
        recorders.get(op).recordValue(Math.min(MAX_MICROS, Math.max(1, nanos / 1000)));
    }

    public void fail(Operation op) {
        failures.get(op).incrementAndGet();
    }

    /** Everything recorded so far, one histogram per operation (call once, at the end). */
    public Map<Operation, Histogram> drain() {
        Map<Operation, Histogram> out = new EnumMap<>(Operation.class);
        recorders.forEach((op, r) -> out.put(op, r.getIntervalHistogram()));
        return out;
    }

    public long failures(Operation op) {
        return failures.get(op).get();
    }
}
