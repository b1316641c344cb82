package dev.sandbox.engine.vmm.devices.virtio.blk;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * One backend call per run of a request's buffers instead of one per buffer. A direct I/O from the guest arrives
 * as one 4 KiB buffer per user page (pages that are not contiguous in guest memory): per buffer, each would be a
 * pread or pwrite of its own, and the syscalls, not the copy, are what cost. So the data goes through this buffer in
 * runs of up to {@link #SIZE} bytes: gathered from the guest and written in one call, or read in one call and
 * scattered into the guest. Not thread-safe: the device's lock guards it.
 */
final class BounceBuffer {
    static final int SIZE = 1 << 20;

    private final MemorySegment buffer = Arena.ofAuto().allocate(SIZE, OverlayDisk.BLOCK_SIZE);

    /** Moves {@code slices}, in order, to or from the backend from byte {@code at}. */
    void transfer(BlockBackend backend, List<MemorySegment> slices, long at, boolean toDisk) throws IOException {
        Cursor c = new Cursor(slices);
        while (!c.done()) {
            Cursor start = c.copy();
            long n = c.advance(SIZE);
            MemorySegment run = buffer.asSlice(0, n);
            if (toDisk) {
                start.copy(run, true);
                backend.write(at, run);
            } else {
                backend.read(at, run);
                start.copy(run, false);
            }
            at += n;
        }
    }

    /** A position in a list of slices: slice {@code index}, {@code within} bytes into it. */
    private static final class Cursor {
        private final List<MemorySegment> slices;
        private int index;
        private long within;

        Cursor(List<MemorySegment> slices) {
            this.slices = slices;
            skipEmpty();
        }

        Cursor copy() {
            Cursor c = new Cursor(slices);
            c.index = index;
            c.within = within;
            return c;
        }

        boolean done() {
            return index == slices.size();
        }

        /** Moves up to {@code max} bytes on; returns how many. */
        long advance(long max) {
            long n = 0;
            while (!done() && n < max) {
                long take = Math.min(slices.get(index).byteSize() - within, max - n);
                n += take;
                within += take;
                skipEmpty();
            }
            return n;
        }

        /** Copies between the slices from here and {@code run} (into it when {@code intoRun}), moving on. */
        void copy(MemorySegment run, boolean intoRun) {
            long done = 0;
            while (done < run.byteSize()) {
                MemorySegment s = slices.get(index);
                long take = Math.min(s.byteSize() - within, run.byteSize() - done);
                if (intoRun) {
                    MemorySegment.copy(s, within, run, done, take);
                } else {
                    MemorySegment.copy(run, done, s, within, take);
                }
                done += take;
                within += take;
                skipEmpty();
            }
        }

        private void skipEmpty() {
            while (index < slices.size() && within == slices.get(index).byteSize()) {
                index++;
                within = 0;
            }
        }
    }
}
