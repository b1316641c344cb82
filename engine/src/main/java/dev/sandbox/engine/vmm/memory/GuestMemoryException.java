package dev.sandbox.engine.vmm.memory;

/** A guest physical address range that is not backed by guest memory. */
public final class GuestMemoryException extends RuntimeException {
    private final long address;
    private final long length;

    public GuestMemoryException(long address, long length, long memorySize) {
        super("guest range [0x%x, +0x%x) outside guest memory of 0x%x bytes".formatted(address, length, memorySize));
        this.address = address;
        this.length = length;
    }

    public long address() {
        return address;
    }

    public long length() {
        return length;
    }
}
