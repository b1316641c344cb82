package dev.sandbox.engine.net;

import java.util.BitSet;

/**
 * Which slots of the pool are taken. Next-fit: a freed slot is handed out again only after the others, so a new
 * sandbox seldom inherits the address (and stale conntrack entries) of one that just left. Thread-safe.
 */
public final class SlotAllocator {
    private final int size;
    private final BitSet used;
    private int next;

    public SlotAllocator(int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("a pool needs at least one slot: " + size);
        }
        this.size = size;
        this.used = new BitSet(size);
    }

    /** Takes a free slot. */
    public synchronized int allocate() {
        int slot = used.nextClearBit(next);
        if (slot >= size) {
            slot = used.nextClearBit(0);
        }
        if (slot >= size) {
            throw new NetworkException("no free network slot: all " + size + " are in use");
        }
        used.set(slot);
        next = (slot + 1) % size;
        return slot;
    }

    /**
     * Takes the given slot (a sandbox recovered after a restart keeps its host address).
     *
     * @throws IllegalStateException when it is taken already
     */
    public synchronized void reserve(int slot) {
        check(slot);
        if (used.get(slot)) {
            throw new IllegalStateException("network slot " + slot + " is taken already");
        }
        used.set(slot);
    }

    /** Gives a slot back; releasing a free slot is a bug of the caller. */
    public synchronized void release(int slot) {
        check(slot);
        if (!used.get(slot)) {
            throw new IllegalStateException("network slot " + slot + " is not in use");
        }
        used.clear(slot);
    }

    public synchronized boolean isUsed(int slot) {
        check(slot);
        return used.get(slot);
    }

    public synchronized int inUse() {
        return used.cardinality();
    }

    public int size() {
        return size;
    }

    private void check(int slot) {
        if (slot < 0 || slot >= size) {
            throw new IllegalArgumentException("slot " + slot + " outside 0.." + (size - 1));
        }
    }
}
