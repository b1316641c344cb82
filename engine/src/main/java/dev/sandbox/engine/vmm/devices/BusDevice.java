package dev.sandbox.engine.vmm.devices;

/**
 * A device reached through a {@link Bus}. {@code data} is the access itself: its length is the access size (1, 2, 4
 * or 8 bytes), little-endian; a read fills it, a write supplies it. Offsets are relative to the device's range.
 * Implementations are called from vCPU threads and must not throw for any guest access.
 */
public interface BusDevice {
    void read(long offset, byte[] data);

    void write(long offset, byte[] data);
}
