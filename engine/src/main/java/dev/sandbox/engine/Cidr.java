package dev.sandbox.engine;

import java.util.regex.Pattern;

/**
 * An IPv4 network in CIDR form ({@code 198.51.100.0/24}; a bare address is a /32). The guest has only IPv4, so an
 * IPv6 network is refused rather than silently ignored. Host bits must be zero: {@code 10.0.0.1/8} is refused, so a
 * typo cannot open a wider range than the caller wrote.
 *
 * @param address the network address, host bits zero, as an unsigned 32-bit value in an int
 * @param prefix  0..32
 */
public record Cidr(int address, int prefix) {
    private static final Pattern FORM = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})(?:/(\\d{1,2}))?");

    public Cidr {
        if (prefix < 0 || prefix > 32) {
            throw new IllegalArgumentException("prefix must be 0..32: " + prefix);
        }
        if ((address & ~mask(prefix)) != 0) {
            throw new IllegalArgumentException("host bits set in " + format(address) + "/" + prefix);
        }
    }

    /** Parses {@code a.b.c.d[/n]}; IllegalArgumentException with a message a user can act on. */
    public static Cidr parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("a CIDR must be a string like 198.51.100.0/24");
        }
        var m = FORM.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("not an IPv4 CIDR (like 198.51.100.0/24): '" + text + "'");
        }
        int address = 0;
        for (int i = 1; i <= 4; i++) {
            int octet = Integer.parseInt(m.group(i));
            if (octet > 255 || (m.group(i).length() > 1 && m.group(i).startsWith("0"))) {
                throw new IllegalArgumentException("not an IPv4 CIDR (like 198.51.100.0/24): '" + text + "'");
            }
            address = (address << 8) | octet;
        }
        int prefix = m.group(5) == null ? 32 : Integer.parseInt(m.group(5));
        if (prefix > 32 || (m.group(5) != null && m.group(5).length() > 1 && m.group(5).startsWith("0"))) {
            throw new IllegalArgumentException("prefix must be 0..32 in '" + text + "'");
        }
        if ((address & ~mask(prefix)) != 0) {
            throw new IllegalArgumentException("host bits set in '" + text + "': did you mean "
                    + format(address & mask(prefix)) + "/" + prefix + "?");
        }
        return new Cidr(address, prefix);
    }

    public boolean contains(int ip) {
        return (ip & mask(prefix)) == address;
    }

    static int mask(int prefix) {
        return prefix == 0 ? 0 : -1 << (32 - prefix);
    }

    /** Dotted quad of an unsigned 32-bit address held in an int. */
    public static String format(int ip) {
        return (ip >>> 24) + "." + ((ip >>> 16) & 0xff) + "." + ((ip >>> 8) & 0xff) + "." + (ip & 0xff);
    }

    @Override
    public String toString() {
        return format(address) + "/" + prefix;
    }
}
