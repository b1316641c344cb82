package dev.sandbox.engine.vmm.devices.virtio;

import dev.sandbox.engine.vmm.memory.GuestMemory;

import java.lang.invoke.VarHandle;

/**
 * The guest driver's side of a split virtqueue, for device tests: lays out the descriptor table and rings in guest
 * memory, allocates buffers from its own region, makes chains available and reads used entries back.
 */
public final class DriverQueue {
    /** A buffer the driver hands to the device. */
    public record Buffer(long address, int length, boolean writable) {
    }

    /** An entry of the used ring. */
    public record Used(int id, int length) {
    }

    private final GuestMemory memory;
    private final int size;
    private final long descriptors;
    private final long available;
    private final long used;
    private long nextBuffer;
    private final long buffersEnd;
    private int nextDescriptor;
    private int availableIndex;
    private int usedSeen;

    /** Places the queue at {@code base} (the rings take 64 KiB at most) and its buffers in the following region. */
    public DriverQueue(GuestMemory memory, int size, long base, long bufferRegionSize) {
        this.memory = memory;
        this.size = size;
        this.descriptors = base;
        this.available = base + 16L * size;
        this.used = (available + 6 + 2L * size + 3) & ~3L;
        this.nextBuffer = base + 0x1_0000;
        this.buffersEnd = nextBuffer + bufferRegionSize;
    }

    /** Programs the device-side queue the way the transport would after the driver's register writes. */
    public void configure(Queue queue) {
        queue.setSize(size);
        queue.setDescriptorTable(descriptors);
        queue.setAvailableRing(available);
        queue.setUsedRing(used);
        queue.setReady(true);
    }

    public int size() {
        return size;
    }

    public long descriptorTable() {
        return descriptors;
    }

    public long availableRing() {
        return available;
    }

    public long usedRing() {
        return used;
    }

    /** Allocates a buffer holding {@code bytes}, readable by the device. */
    public Buffer readable(byte[] bytes) {
        long address = allocate(bytes.length);
        memory.write(address, bytes);
        return new Buffer(address, bytes.length, false);
    }

    /** Allocates an empty buffer the device may write. */
    public Buffer writable(int length) {
        return new Buffer(allocate(length), length, true);
    }

    /** Links buffers into a chain of fresh descriptors and makes it available; returns the head index. */
    public int add(Buffer... buffers) {
        int head = nextDescriptor;
        for (int i = 0; i < buffers.length; i++) {
            int index = nextDescriptor;
            nextDescriptor = (nextDescriptor + 1) % size;
            boolean last = i == buffers.length - 1;
            descriptor(index, buffers[i].address(), buffers[i].length(),
                    (last ? 0 : Queue.DESC_F_NEXT) | (buffers[i].writable() ? Queue.DESC_F_WRITE : 0),
                    last ? 0 : nextDescriptor);
        }
        publish(head);
        return head;
    }

    /** Writes a raw descriptor, for hostile chains. */
    public void descriptor(int index, long address, long length, int flags, int next) {
        long at = descriptors + 16L * index;
        memory.writeU64(at, address);
        memory.writeU32(at + 8, length);
        memory.writeU16(at + 12, flags);
        memory.writeU16(at + 14, next);
    }

    /** Puts {@code head} in the available ring and advances its index. */
    public void publish(int head) {
        memory.writeU16(available + 4 + 2L * (availableIndex % size), head);
        availableIndex = (availableIndex + 1) & 0xffff;
        memory.writeU16(available + 2, availableIndex);
    }

    /** Overwrites the available index, for hostile drivers. */
    public void setAvailableIndex(int index) {
        availableIndex = index & 0xffff;
        memory.writeU16(available + 2, availableIndex);
    }

    public void suppressInterrupts(boolean suppress) {
        memory.writeU16(available, suppress ? Queue.AVAIL_F_NO_INTERRUPT : 0);
    }

    /** The next used entry the device returned, or null. */
    public Used nextUsed() {
        if (memory.readU16(used + 2) == (usedSeen & 0xffff)) {
            return null;
        }
        VarHandle.acquireFence(); // the device may run on another thread
        long at = used + 4 + 8L * (usedSeen % size);
        usedSeen++;
        return new Used((int) memory.readU32(at), (int) memory.readU32(at + 4));
    }

    public int usedIndex() {
        return memory.readU16(used + 2);
    }

    private long allocate(int length) {
        long address = nextBuffer;
        nextBuffer = (nextBuffer + length + 15) & ~15L;
        if (nextBuffer > buffersEnd) {
            throw new IllegalStateException("driver buffer region exhausted");
        }
        return address;
    }
}
