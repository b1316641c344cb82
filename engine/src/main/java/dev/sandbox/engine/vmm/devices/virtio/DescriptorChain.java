package dev.sandbox.engine.vmm.devices.virtio;

import dev.sandbox.engine.vmm.memory.GuestMemory;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A validated descriptor chain: the device-readable buffers followed by the device-writable ones. The byte offsets of
 * {@link #read} and {@link #write} run across the readable, respectively writable, buffers as one stream.
 *
 * @param head index of the first descriptor, which the used ring reports back
 */
public record DescriptorChain(int head, List<Descriptor> readable, List<Descriptor> writable) {
    public DescriptorChain {
        readable = List.copyOf(readable);
        writable = List.copyOf(writable);
    }

    public long readableLength() {
        return total(readable);
    }

    public long writableLength() {
        return total(writable);
    }

    /** Copies {@code length} bytes starting {@code offset} bytes into the readable buffers. */
    public void read(GuestMemory memory, long offset, byte[] destination, int destinationOffset, int length) {
        scatter(readable, readableLength(), "read", offset, length,
                (address, done, n) -> memory.read(address, destination, destinationOffset + done, n));
    }

    /** Copies {@code length} bytes to {@code offset} bytes into the writable buffers. */
    public void write(GuestMemory memory, long offset, byte[] source, int sourceOffset, int length) {
        scatter(writable, writableLength(), "write", offset, length,
                (address, done, n) -> memory.write(address, source, sourceOffset + done, n));
    }

    /**
     * Fills all of {@code destination} from {@code offset} bytes into the readable buffers; for devices that hand
     * the bytes to native code (a TAP) without a heap copy.
     */
    public void read(GuestMemory memory, long offset, MemorySegment destination) {
        scatter(readable, readableLength(), "read", offset, segmentLength(destination),
                (address, done, n) -> MemorySegment.copy(memory.slice(address, n), 0, destination, done, n));
    }

    /** Copies all of {@code source} to {@code offset} bytes into the writable buffers. */
    public void write(GuestMemory memory, long offset, MemorySegment source) {
        scatter(writable, writableLength(), "write", offset, segmentLength(source),
                (address, done, n) -> memory.write(address, source.asSlice(done, n)));
    }

    /**
     * Views of the guest memory holding {@code length} bytes from {@code offset} into the readable buffers, in
     * order, one per buffer touched; for devices that move data between guest memory and a file without a copy.
     */
    public List<MemorySegment> readableSlices(GuestMemory memory, long offset, long length) {
        return slices(memory, readable, readableLength(), "read", offset, length);
    }

    /** Like {@link #readableSlices}, over the writable buffers: writes through the views reach the guest. */
    public List<MemorySegment> writableSlices(GuestMemory memory, long offset, long length) {
        return slices(memory, writable, writableLength(), "write", offset, length);
    }

    // At most one view per buffer, and a chain has no more buffers than its queue has entries.
    private static List<MemorySegment> slices(GuestMemory memory, List<Descriptor> buffers, long total, String what,
                                              long offset, long length) {
        if (offset < 0 || length < 0 || offset > total || length > total - offset) {
            throw new VirtqueueException("%s of %d bytes at %d beyond %d bytes".formatted(what, length, offset, total));
        }
        List<MemorySegment> slices = new ArrayList<>();
        long skip = offset;
        long left = length;
        for (Descriptor d : buffers) {
            if (left == 0) {
                break;
            }
            if (skip >= d.length()) {
                skip -= d.length();
                continue;
            }
            long n = Math.min(d.length() - skip, left);
            slices.add(memory.slice(d.address() + skip, n));
            left -= n;
            skip = 0;
        }
        return slices;
    }

    private static int segmentLength(MemorySegment segment) {
        if (segment.byteSize() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("copy of %d bytes is too large".formatted(segment.byteSize()));
        }
        return (int) segment.byteSize();
    }

    /** One piece of a scattered copy: {@code n} bytes at guest {@code address}, {@code done} bytes copied so far. */
    private interface Piece {
        void copy(long address, int done, int n);
    }

    // Walks the buffers as one contiguous byte range and hands each overlapping piece to the copier.
    private static void scatter(List<Descriptor> buffers, long total, String what, long offset, int length,
                                Piece piece) {
        if (offset < 0 || length < 0 || length > total - offset) {
            throw new VirtqueueException("%s of %d bytes at %d beyond %d bytes".formatted(what, length, offset, total));
        }
        long skip = offset;
        int done = 0;
        for (Descriptor d : buffers) {
            if (done == length) {
                break;
            }
            if (skip >= d.length()) {
                skip -= d.length();
                continue;
            }
            int n = (int) Math.min(d.length() - skip, length - done);
            piece.copy(d.address() + skip, done, n);
            done += n;
            skip = 0;
        }
    }

    private static long total(List<Descriptor> descriptors) {
        long sum = 0;
        for (Descriptor d : descriptors) {
            sum += d.length();
        }
        return sum;
    }
}
