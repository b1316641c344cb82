package dev.sandbox.engine.vmm.devices;

import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * An address space (port I/O or MMIO) split into non-overlapping ranges, each owned by one device. Lookups are
 * lock-free: devices are added while the VM is built, by copying the map.
 */
public final class Bus {
    private final String name;
    private volatile NavigableMap<Long, Mapping> mappings = new TreeMap<>();

    private record Mapping(long base, long length, BusDevice device) {
        boolean covers(long address, int size) {
            return address - base <= length - size;
        }
    }

    public Bus(String name) {
        this.name = name;
    }

    /** A bus for the 64 KiB x86 I/O port space. */
    public static Bus portIo() {
        return new Bus("pio");
    }

    /** A bus for memory-mapped devices. */
    public static Bus mmio() {
        return new Bus("mmio");
    }

    /** Maps {@code device} at {@code [base, base + length)}; rejects a range overlapping an existing one. */
    public synchronized void insert(BusDevice device, long base, long length) {
        if (base < 0 || length <= 0 || base + length < base) {
            throw new IllegalArgumentException("bad %s range 0x%x+0x%x".formatted(name, base, length));
        }
        Map.Entry<Long, Mapping> below = mappings.floorEntry(base + length - 1);
        if (below != null && below.getValue().base() + below.getValue().length() > base) {
            throw new IllegalArgumentException("%s range 0x%x+0x%x overlaps one at 0x%x"
                    .formatted(name, base, length, below.getKey()));
        }
        NavigableMap<Long, Mapping> copy = new TreeMap<>(mappings);
        copy.put(base, new Mapping(base, length, device));
        mappings = copy;
    }

    /** Dispatches a read; returns false, leaving {@code data} untouched, when no device covers the whole access. */
    public boolean read(long address, byte[] data) {
        Mapping mapping = find(address, data.length);
        if (mapping == null) {
            return false;
        }
        mapping.device().read(address - mapping.base(), data);
        return true;
    }

    /** Dispatches a write; returns false when no device covers the whole access. */
    public boolean write(long address, byte[] data) {
        Mapping mapping = find(address, data.length);
        if (mapping == null) {
            return false;
        }
        mapping.device().write(address - mapping.base(), data);
        return true;
    }

    private Mapping find(long address, int size) {
        Map.Entry<Long, Mapping> entry = mappings.floorEntry(address);
        return entry != null && entry.getValue().covers(address, size) ? entry.getValue() : null;
    }

    @Override
    public String toString() {
        return name + " bus " + mappings.keySet();
    }
}
