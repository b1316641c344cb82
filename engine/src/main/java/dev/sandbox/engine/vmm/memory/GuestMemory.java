package dev.sandbox.engine.vmm.memory;

import dev.sandbox.engine.vmm.arch.Layout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Guest physical memory: one segment mapped at guest physical address 0.
 *
 * <p>Only memory below the 32-bit MMIO gap ({@link Layout#MMIO_GAP_START}) is supported, so guest physical addresses
 * equal offsets into the segment. Every accessor checks its range first and throws {@link GuestMemoryException}; the
 * checks are written so that no {@code address + length} can overflow. Values are little-endian, as on x86.
 */
public final class GuestMemory {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment memory;

    private GuestMemory(MemorySegment memory) {
        this.memory = memory;
    }

    /** Wraps an existing mapping (heap or native) as guest memory starting at address 0. */
    public static GuestMemory wrap(MemorySegment memory) {
        Objects.requireNonNull(memory, "memory");
        if (memory.byteSize() == 0 || memory.byteSize() > Layout.MMIO_GAP_START) {
            throw new IllegalArgumentException("guest memory size 0x%x must be in (0, 0x%x]"
                    .formatted(memory.byteSize(), Layout.MMIO_GAP_START));
        }
        return new GuestMemory(memory);
    }

    /** Allocates zeroed, page-aligned guest memory from an arena; for tests and tools. */
    public static GuestMemory allocate(Arena arena, long size) {
        return wrap(arena.allocate(size, 4096));
    }

    public long size() {
        return memory.byteSize();
    }

    /** Whether {@code [address, address + length)} lies inside guest memory; never overflows. */
    public boolean contains(long address, long length) {
        return address >= 0 && length >= 0 && address <= memory.byteSize() && length <= memory.byteSize() - address;
    }

    /** Throws unless {@code [address, address + length)} lies inside guest memory. */
    public void check(long address, long length) {
        if (!contains(address, length)) {
            throw new GuestMemoryException(address, length, memory.byteSize());
        }
    }

    /** A view of a checked guest range; writes through it reach the guest. */
    public MemorySegment slice(long address, long length) {
        check(address, length);
        return memory.asSlice(address, length);
    }

    public int readU8(long address) {
        check(address, 1);
        return Byte.toUnsignedInt(memory.get(ValueLayout.JAVA_BYTE, address));
    }

    public int readU16(long address) {
        check(address, 2);
        return Short.toUnsignedInt(memory.get(U16, address));
    }

    public long readU32(long address) {
        check(address, 4);
        return Integer.toUnsignedLong(memory.get(U32, address));
    }

    public long readU64(long address) {
        check(address, 8);
        return memory.get(U64, address);
    }

    public void writeU8(long address, int value) {
        check(address, 1);
        memory.set(ValueLayout.JAVA_BYTE, address, (byte) value);
    }

    public void writeU16(long address, int value) {
        check(address, 2);
        memory.set(U16, address, (short) value);
    }

    /** Writes the low 32 bits of {@code value}. */
    public void writeU32(long address, long value) {
        check(address, 4);
        memory.set(U32, address, (int) value);
    }

    public void writeU64(long address, long value) {
        check(address, 8);
        memory.set(U64, address, value);
    }

    public void read(long address, byte[] destination, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, destination.length);
        check(address, length);
        MemorySegment.copy(memory, ValueLayout.JAVA_BYTE, address, destination, offset, length);
    }

    public byte[] read(long address, int length) {
        byte[] bytes = new byte[length];
        read(address, bytes, 0, length);
        return bytes;
    }

    public void write(long address, byte[] source, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, source.length);
        check(address, length);
        MemorySegment.copy(source, offset, memory, ValueLayout.JAVA_BYTE, address, length);
    }

    public void write(long address, byte[] source) {
        write(address, source, 0, source.length);
    }

    /** Copies a whole segment (for example a kernel image) into the guest. */
    public void write(long address, MemorySegment source) {
        check(address, source.byteSize());
        MemorySegment.copy(source, 0, memory, address, source.byteSize());
    }

    public void fill(long address, long length, byte value) {
        slice(address, length).fill(value);
    }
}
