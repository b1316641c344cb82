package dev.sandbox.engine.vmm.devices.virtio;

import dev.sandbox.engine.vmm.memory.GuestMemory;

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
        if (offset < 0 || length < 0 || length > readableLength() - offset) {
            throw new VirtqueueException("read of %d bytes at %d beyond %d readable bytes"
                    .formatted(length, offset, readableLength()));
        }
        long skip = offset;
        int done = 0;
        for (Descriptor d : readable) {
            if (done == length) {
                break;
            }
            if (skip >= d.length()) {
                skip -= d.length();
                continue;
            }
            int n = (int) Math.min(d.length() - skip, length - done);
            memory.read(d.address() + skip, destination, destinationOffset + done, n);
            done += n;
            skip = 0;
        }
    }

    /** Copies {@code length} bytes to {@code offset} bytes into the writable buffers. */
    public void write(GuestMemory memory, long offset, byte[] source, int sourceOffset, int length) {
        if (offset < 0 || length < 0 || length > writableLength() - offset) {
            throw new VirtqueueException("write of %d bytes at %d beyond %d writable bytes"
                    .formatted(length, offset, writableLength()));
        }
        long skip = offset;
        int done = 0;
        for (Descriptor d : writable) {
            if (done == length) {
                break;
            }
            if (skip >= d.length()) {
                skip -= d.length();
                continue;
            }
            int n = (int) Math.min(d.length() - skip, length - done);
            memory.write(d.address() + skip, source, sourceOffset + done, n);
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
