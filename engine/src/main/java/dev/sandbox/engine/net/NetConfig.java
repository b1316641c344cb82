package dev.sandbox.engine.net;

import dev.sandbox.engine.Cidr;
import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Engine-wide network settings: the address pool the sandboxes' host addresses come from and the prefix of every
 * name we create on the host. Slot {@code n} of the pool is the /30 at {@code pool + 4n}: the host-side veth gets
 * its {@code .1}, the sandbox's namespace its {@code .2} (the sandbox's {@code hostIp}).
 *
 * <p>The prefix is ours alone: {@code <prefix>-<n>} namespaces, {@code <prefix><n>h} links and
 * {@code inet <prefix>_<n>} tables are removed as leftovers at engine start, and every interface whose name starts
 * with it counts as a sandbox's in the global rules.
 *
 * @param prefix          lower-case letters and digits, starting with a letter
 * @param pool            where slots come from; at most a /30
 * @param enableIpForward whether {@link HostNetworking#setup()} turns on {@code net.ipv4.ip_forward} (the uplink
 *                        must forward the replies); false where the host already forwards, or in a test that
 *                        leaves the host's sysctls alone (each sandbox's host veth forwards in any case)
 * @param commandTimeout  how long one {@code ip} or {@code nft} may take
 */
public record NetConfig(String prefix, Cidr pool, boolean enableIpForward, Duration commandTimeout) {
    /** IFNAMSIZ less the NUL. */
    static final int MAX_IFNAME = 15;
    // Before DEFAULT: the constructor of DEFAULT uses it.
    private static final Pattern PREFIX = Pattern.compile("[a-z][a-z0-9]*");
    public static final String DEFAULT_PREFIX = "sbx";
    public static final Cidr DEFAULT_POOL = Cidr.parse("10.200.0.0/16");
    public static final NetConfig DEFAULT = new NetConfig(DEFAULT_PREFIX, DEFAULT_POOL, true, Duration.ofSeconds(10));

    public NetConfig {
        Objects.requireNonNull(prefix, "prefix");
        Objects.requireNonNull(pool, "pool");
        Objects.requireNonNull(commandTimeout, "commandTimeout");
        if (!PREFIX.matcher(prefix).matches()) {
            throw new IllegalArgumentException("network name prefix must be lower-case letters and digits, starting"
                    + " with a letter: '" + prefix + "'");
        }
        if (pool.prefix() > 30 || pool.prefix() < 8) {
            throw new IllegalArgumentException("network pool must be a /8 to a /30: " + pool);
        }
        int longest = prefix.length() + String.valueOf(slotsOf(pool) - 1).length() + 1;
        if (longest > MAX_IFNAME) {
            throw new IllegalArgumentException("prefix '" + prefix + "' with pool " + pool + " makes interface names of "
                    + longest + " characters; the kernel allows " + MAX_IFNAME);
        }
        if (commandTimeout.isNegative() || commandTimeout.isZero()) {
            throw new IllegalArgumentException("command timeout must be positive: " + commandTimeout);
        }
    }

    /** The default settings with another prefix and pool (tests, a second engine on the same host). */
    /**
     * {@link #DEFAULT}, or the prefix and pool of {@code -Dsandbox.net.prefix} and {@code -Dsandbox.net.pool}: two
     * engines on one host need their own (each removes the other's namespaces as leftovers otherwise).
     */
    public static NetConfig fromSystemProperties() {
        return new NetConfig(System.getProperty("sandbox.net.prefix", DEFAULT_PREFIX),
                Cidr.parse(System.getProperty("sandbox.net.pool", DEFAULT_POOL.toString())),
                DEFAULT.enableIpForward(), DEFAULT.commandTimeout());
    }

    public static NetConfig of(String prefix, Cidr pool) {
        return new NetConfig(prefix, pool, DEFAULT.enableIpForward, DEFAULT.commandTimeout);
    }

    public NetConfig withIpForward(boolean enable) {
        return new NetConfig(prefix, pool, enable, commandTimeout);
    }

    /** How many sandboxes the pool holds. */
    public int slots() {
        return slotsOf(pool);
    }

    private static int slotsOf(Cidr pool) {
        return 1 << (32 - pool.prefix() - 2);
    }

    /** Names and addresses of slot {@code index}. */
    public Slot slot(int index) {
        if (index < 0 || index >= slots()) {
            throw new IllegalArgumentException("slot " + index + " is outside pool " + pool + " (0.." + (slots() - 1)
                    + ")");
        }
        int base = pool.address() + 4 * index;
        return new Slot(index, prefix + "-" + index, prefix + index + "h", prefix + "_" + index,
                Cidr.format(base + 1), Cidr.format(base + 2));
    }

    /** The slot whose sandbox address is {@code hostIp} (a sandbox recovered after a restart keeps its address). */
    public int slotOf(String hostIp) {
        int ip = Cidr.parse(hostIp).address();
        if (!pool.contains(ip) || ((ip - pool.address()) & 3) != 2) {
            throw new IllegalArgumentException(hostIp + " is no sandbox address of pool " + pool);
        }
        return (ip - pool.address()) >>> 2;
    }

    /** The engine-wide nftables table ({@code inet <prefix>}): masquerade and the pool's inbound guard. */
    public String globalTable() {
        return prefix;
    }

    /** Whether {@code name} is one of our namespaces, in any slot. */
    boolean isOurNetns(String name) {
        return name.matches(Pattern.quote(prefix) + "-\\d+");
    }

    /** Whether {@code name} is one of our host-side veths, in any slot. */
    boolean isOurHostLink(String name) {
        return name.matches(Pattern.quote(prefix) + "\\d+h");
    }

    /** Whether {@code name} is one of our per-sandbox host tables (family inet). */
    boolean isOurSandboxTable(String name) {
        return name.matches(Pattern.quote(prefix) + "_\\d+");
    }

    /** Every name and address of one slot. */
    public record Slot(int index, String netns, String hostVeth, String hostTable, String hostSideIp, String hostIp) {
    }
}
