package dev.sandbox.ffi;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A fixed set of descriptors (eventfds, TAPs: any {@link Pollable}) to wait on with poll(2) for readability: the
 * pollfd array lives off-heap for the set's life. One thread waits on it at a time; the descriptors stay owned by
 * the caller and must outlive the set's use.
 */
public final class PollSet implements AutoCloseable {
    private static final long FD = LinuxAbi.pollfd.byteOffset(groupElement("fd"));
    private static final long EVENTS = LinuxAbi.pollfd.byteOffset(groupElement("events"));
    private static final long REVENTS = LinuxAbi.pollfd.byteOffset(groupElement("revents"));

    private final Arena arena = Arena.ofShared();
    private final MemorySegment fds;
    private final int count;

    public PollSet(List<? extends Pollable> watched) {
        count = watched.size();
        fds = arena.allocate(LinuxAbi.pollfd, Math.max(1, count));
        for (int i = 0; i < count; i++) {
            MemorySegment entry = entry(i);
            entry.set(JAVA_INT, FD, watched.get(i).fd());
            entry.set(JAVA_SHORT, EVENTS, (short) LinuxAbi.POLLIN);
        }
    }

    private MemorySegment entry(int i) {
        return fds.asSlice(i * LinuxAbi.pollfd.byteSize(), LinuxAbi.pollfd.byteSize());
    }

    public int size() {
        return count;
    }

    /** Waits until some descriptor is readable or {@code timeoutMillis} passed (-1: no limit); returns how many are. */
    public int await(int timeoutMillis) {
        for (int i = 0; i < count; i++) {
            entry(i).set(JAVA_SHORT, REVENTS, (short) 0);
        }
        return Libc.poll(fds, count, timeoutMillis);
    }

    /** Whether entry {@code i} was readable in the last {@link #await}. */
    public boolean readable(int i) {
        return (entry(i).get(JAVA_SHORT, REVENTS) & LinuxAbi.POLLIN) != 0;
    }

    /** Whether entry {@code i} reported an error, hang-up or a closed descriptor in the last {@link #await}. */
    public boolean failed(int i) {
        return (entry(i).get(JAVA_SHORT, REVENTS) & (LinuxAbi.POLLERR | LinuxAbi.POLLHUP | LinuxAbi.POLLNVAL)) != 0;
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
