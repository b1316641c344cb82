package dev.sandbox.engine.vmm.devices.virtio;

import dev.sandbox.engine.vmm.memory.GuestMemory;
import dev.sandbox.engine.vmm.memory.GuestMemoryException;

import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * The device side of a split virtqueue (virtio 1.2, 2.7). The transport sets the configuration while the driver
 * programs the queue; once the device is active, the device pops chains from the available ring and returns them
 * through the used ring.
 *
 * <pre>
 * descriptor table: size x { le64 addr; le32 len; le16 flags; le16 next }
 * available ring:   le16 flags; le16 idx; le16 ring[size]; (le16 used_event)
 * used ring:        le16 flags; le16 idx; { le32 id; le32 len } ring[size]; (le16 avail_event)
 * </pre>
 * Not thread-safe: the owning device serializes access.
 */
public final class Queue {
    static final int DESC_F_NEXT = 1;
    static final int DESC_F_WRITE = 2;
    static final int DESC_F_INDIRECT = 4;
    static final int AVAIL_F_NO_INTERRUPT = 1;
    static final int DESCRIPTOR_SIZE = 16;

    private final int maxSize;
    private int size;
    private boolean ready;
    private long descriptorTable;
    private long availableRing;
    private long usedRing;
    private int nextAvailable;
    private int nextUsed;

    public Queue(int maxSize) {
        if (maxSize < 1 || maxSize > 32768 || Integer.bitCount(maxSize) != 1) {
            throw new IllegalArgumentException("queue size must be a power of two up to 32768: " + maxSize);
        }
        this.maxSize = maxSize;
        this.size = maxSize;
    }

    public int maxSize() {
        return maxSize;
    }

    public int size() {
        return size;
    }

    public void setSize(int size) {
        this.size = size;
    }

    public boolean ready() {
        return ready;
    }

    public void setReady(boolean ready) {
        this.ready = ready;
    }

    public long descriptorTable() {
        return descriptorTable;
    }

    public void setDescriptorTable(long address) {
        descriptorTable = address;
    }

    public long availableRing() {
        return availableRing;
    }

    public void setAvailableRing(long address) {
        availableRing = address;
    }

    public long usedRing() {
        return usedRing;
    }

    public void setUsedRing(long address) {
        usedRing = address;
    }

    /** What a snapshot keeps of a queue: the driver's configuration and the device's positions in the rings. */
    public record State(int size, boolean ready, long descriptorTable, long availableRing, long usedRing,
                        int nextAvailable, int nextUsed) {
    }

    public State state() {
        return new State(size, ready, descriptorTable, availableRing, usedRing, nextAvailable, nextUsed);
    }

    /**
     * Takes a saved state (untrusted: from a snapshot file). Sizes and ring indexes are checked here; addresses by
     * {@link #validate} once the transport activates the device.
     */
    public void restore(State s) {
        if (s.size() < 1 || s.size() > maxSize || Integer.bitCount(s.size()) != 1) {
            throw new IllegalArgumentException("saved queue size %d is not a power of two up to %d"
                    .formatted(s.size(), maxSize));
        }
        if ((s.nextAvailable() & ~0xffff) != 0 || (s.nextUsed() & ~0xffff) != 0) {
            throw new IllegalArgumentException("saved ring index out of range: avail %d, used %d"
                    .formatted(s.nextAvailable(), s.nextUsed()));
        }
        size = s.size();
        ready = s.ready();
        descriptorTable = s.descriptorTable();
        availableRing = s.availableRing();
        usedRing = s.usedRing();
        nextAvailable = s.nextAvailable();
        nextUsed = s.nextUsed();
    }

    /** Returns to the state after a device reset. */
    public void reset() {
        size = maxSize;
        ready = false;
        descriptorTable = 0;
        availableRing = 0;
        usedRing = 0;
        nextAvailable = 0;
        nextUsed = 0;
    }

    /** Why the driver's configuration cannot be used, or null if it can (size, alignment, rings inside memory). */
    public String validate(GuestMemory memory) {
        if (!ready) {
            return "queue not ready";
        }
        if (size < 1 || size > maxSize || Integer.bitCount(size) != 1) {
            return "queue size %d is not a power of two up to %d".formatted(size, maxSize);
        }
        if (descriptorTable % 16 != 0 || availableRing % 2 != 0 || usedRing % 4 != 0) {
            return "misaligned queue rings";
        }
        if (!memory.contains(descriptorTable, (long) DESCRIPTOR_SIZE * size)
                || !memory.contains(availableRing, 6 + 2L * size)
                || !memory.contains(usedRing, 6 + 8L * size)) {
            return "queue rings outside guest memory";
        }
        return null;
    }

    /** The next available chain, or null when the driver has made none available. */
    public DescriptorChain pop(GuestMemory memory) {
        int availableIndex = memory.readU16(availableRing + 2);
        VarHandle.acquireFence(); // ring entries are read after the index that published them
        int pending = (availableIndex - nextAvailable) & 0xffff;
        if (pending == 0) {
            return null;
        }
        if (pending > size) {
            throw new VirtqueueException("available index moved %d entries ahead of a %d-entry queue"
                    .formatted(pending, size));
        }
        int head = memory.readU16(availableRing + 4 + 2L * (nextAvailable & (size - 1)));
        nextAvailable = (nextAvailable + 1) & 0xffff;
        return chain(memory, head);
    }

    /** Returns a chain to the driver with the number of bytes the device wrote into it. */
    public void addUsed(GuestMemory memory, int head, long writtenLength) {
        long entry = usedRing + 4 + 8L * (nextUsed & (size - 1));
        memory.writeU32(entry, head);
        memory.writeU32(entry + 4, writtenLength);
        nextUsed = (nextUsed + 1) & 0xffff;
        VarHandle.releaseFence(); // the entry is visible before the index that publishes it
        memory.writeU16(usedRing + 2, nextUsed);
    }

    /** The ring indices as we and the driver see them, for a stall report; reads guest memory, changes nothing. */
    public String describe(GuestMemory memory) {
        if (!ready()) {
            return "not ready";
        }
        try {
            return "avail idx %d flags %d, next to pop %d; used idx %d, next used %d".formatted(
                    memory.readU16(availableRing + 2), memory.readU16(availableRing), nextAvailable,
                    memory.readU16(usedRing + 2), nextUsed);
        } catch (GuestMemoryException e) {
            return "rings unreadable: " + e.getMessage();
        }
    }

    /** Whether the driver wants an interrupt for used buffers (it may suppress them with VRING_AVAIL_F_NO_INTERRUPT). */
    public boolean needsInterrupt(GuestMemory memory) {
        VarHandle.fullFence(); // our used index store must not pass the flags load
        return (memory.readU16(availableRing) & AVAIL_F_NO_INTERRUPT) == 0;
    }

    private DescriptorChain chain(GuestMemory memory, int head) {
        if (head >= size) {
            throw new VirtqueueException("chain head %d outside a %d-entry queue".formatted(head, size));
        }
        List<Descriptor> readable = new ArrayList<>();
        List<Descriptor> writable = new ArrayList<>();
        int index = head;
        for (int count = 1; ; count++) {
            if (count > size) {
                throw new VirtqueueException("descriptor chain from %d is longer than the queue: a loop".formatted(head));
            }
            long at = descriptorTable + (long) DESCRIPTOR_SIZE * index;
            long address = memory.readU64(at);
            long length = memory.readU32(at + 8);
            int flags = memory.readU16(at + 12);
            int next = memory.readU16(at + 14);
            if ((flags & DESC_F_INDIRECT) != 0) {
                throw new VirtqueueException("indirect descriptor %d, but the feature was not offered".formatted(index));
            }
            if (!memory.contains(address, length)) {
                throw new VirtqueueException("descriptor %d buffer 0x%x+0x%x outside guest memory"
                        .formatted(index, address, length));
            }
            if ((flags & DESC_F_WRITE) != 0) {
                writable.add(new Descriptor(address, length, true));
            } else if (writable.isEmpty()) {
                readable.add(new Descriptor(address, length, false));
            } else {
                throw new VirtqueueException("readable descriptor %d after a writable one".formatted(index));
            }
            if ((flags & DESC_F_NEXT) == 0) {
                return new DescriptorChain(head, readable, writable);
            }
            if (next >= size) {
                throw new VirtqueueException("descriptor %d links to %d outside the queue".formatted(index, next));
            }
            index = next;
        }
    }
}
