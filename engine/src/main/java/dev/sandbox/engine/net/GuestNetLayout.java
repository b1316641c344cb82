package dev.sandbox.engine.net;

/**
 * The guest side of every sandbox's network, the same in all of them: each sandbox has a network namespace of its
 * own, so every clone of a template keeps the template's address and neighbour cache. Link-local, like E2B's, so it
 * never collides with a network a user opens with {@code allow_out}. Both MACs are fixed for the same reason: a
 * clone or a resumed sandbox finds its gateway at the MAC it cached before the snapshot.
 */
public final class GuestNetLayout {
    public static final String GUEST_IP = "169.254.0.21";
    /** The TAP's address in the namespace: the guest's default gateway. */
    public static final String GATEWAY_IP = "169.254.0.22";
    public static final int PREFIX = 30;
    public static final String NETMASK = "255.255.255.252";
    /** Locally administered unicast. */
    public static final String GUEST_MAC = "02:fc:00:00:00:15";
    public static final String GATEWAY_MAC = "02:fc:00:00:00:16";
    /** The TAP's name inside the sandbox's namespace. */
    public static final String TAP_NAME = "tap0";
    /** The guest's interface (its only NIC). */
    public static final String GUEST_IFACE = "eth0";

    private GuestNetLayout() {
    }

    /** The kernel's {@code ip=} parameter (CONFIG_IP_PNP) that configures the guest at boot, no DHCP. */
    public static String kernelIpParameter() {
        return GUEST_IP + "::" + GATEWAY_IP + ":" + NETMASK + "::" + GUEST_IFACE + ":off";
    }
}
