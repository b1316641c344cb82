package dev.sandbox.engine;

import java.util.List;
import java.util.Objects;

/**
 * A sandbox's network and its egress policy. Always blocked unless listed in {@code allowOut}: the host's own
 * addresses (the API above all), other sandboxes, link-local (169.254.0.0/16, cloud metadata) and the private ranges
 * (10/8, 172.16/12, 192.168/16, 100.64/10). {@code denyOut} is blocked even where {@code internet} allows it;
 * {@code allowOut} wins over both the defaults and {@code denyOut}. With {@code internet} false, only
 * {@code allowOut} is reachable. Inbound, the server's host reaches any guest port at the sandbox's host address.
 *
 * @param internet whether the public internet is reachable
 * @param allowOut networks opened even where a default or {@code denyOut} blocks them
 * @param denyOut  networks blocked on top of the defaults
 */
public record NetworkSpec(boolean internet, List<Cidr> allowOut, List<Cidr> denyOut) {
    /** Internet on, nothing extra: what a create without a network field gets. */
    public static final NetworkSpec DEFAULT = new NetworkSpec(true, List.of(), List.of());
    /** At most this many networks per list: each becomes a rule, and rules cost on every new connection. */
    public static final int MAX_RULES = 64;

    public NetworkSpec {
        allowOut = List.copyOf(Objects.requireNonNull(allowOut, "allowOut"));
        denyOut = List.copyOf(Objects.requireNonNull(denyOut, "denyOut"));
        if (allowOut.size() > MAX_RULES || denyOut.size() > MAX_RULES) {
            throw new IllegalArgumentException("at most " + MAX_RULES + " networks in allow_out and in deny_out");
        }
    }
}
