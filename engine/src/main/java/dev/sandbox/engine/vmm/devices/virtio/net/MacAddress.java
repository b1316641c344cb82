package dev.sandbox.engine.vmm.devices.virtio.net;

import java.util.HexFormat;

/** A unicast Ethernet address, as the 48 low bits of a long (first octet highest). */
public record MacAddress(long value) {
    public static final int SIZE = 6;

    public MacAddress {
        if ((value & ~0xffff_ffff_ffffL) != 0) {
            throw new IllegalArgumentException("not a 48-bit address: 0x" + Long.toHexString(value));
        }
        if ((octet(value, 0) & 1) != 0) {
            throw new IllegalArgumentException("multicast bit set: " + format(value));
        }
    }

    /** Parses {@code 02:00:00:00:00:01}. */
    public static MacAddress parse(String text) {
        String[] parts = text.split(":", -1);
        if (parts.length != SIZE) {
            throw new IllegalArgumentException("not a MAC address: " + text);
        }
        long value = 0;
        for (String part : parts) {
            if (part.length() != 2) {
                throw new IllegalArgumentException("not a MAC address: " + text);
            }
            value = value << 8 | HexFormat.fromHexDigits(part);
        }
        return new MacAddress(value);
    }

    /** Octet {@code index} (0 first on the wire). */
    public int octet(int index) {
        return octet(value, index);
    }

    private static int octet(long value, int index) {
        return (int) (value >>> (8 * (SIZE - 1 - index))) & 0xff;
    }

    @Override
    public String toString() {
        return format(value);
    }

    private static String format(long value) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < SIZE; i++) {
            s.append(i == 0 ? "" : ":").append(HexFormat.of().toHexDigits((byte) octet(value, i)));
        }
        return s.toString();
    }
}
