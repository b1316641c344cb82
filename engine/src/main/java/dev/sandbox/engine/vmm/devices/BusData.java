package dev.sandbox.engine.vmm.devices;

/** Little-endian conversion between bus access buffers and values. */
public final class BusData {
    private BusData() {
    }

    /** The access as an unsigned value (at most 8 bytes). */
    public static long get(byte[] data) {
        long value = 0;
        for (int i = Math.min(data.length, 8) - 1; i >= 0; i--) {
            value = value << 8 | Byte.toUnsignedLong(data[i]);
        }
        return value;
    }

    /** Fills the access with the low bytes of {@code value}. */
    public static void put(byte[] data, long value) {
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i < 8 ? value >>> (8 * i) : 0);
        }
    }
}
