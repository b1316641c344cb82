package dev.sandbox.engine.net;

import dev.sandbox.engine.Cidr;
import dev.sandbox.engine.NetworkSpec;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Renders the nftables rulesets, pure text. Each script replaces its table whole ({@code add}, {@code delete}, then
 * the table), and {@code nft -f} loads a script atomically: a table is never seen half-written.
 *
 * <ul>
 *   <li>{@link #global}: the engine's table on the host: masquerade for the pool leaving by any interface that is no
 *       sandbox's (replies must find their way back from the real internet), and no new connection into the pool
 *       from outside (a neighbour routing the pool through this host reaches no guest).
 *   <li>{@link #host}: one table per sandbox on the host: nothing new from its veth reaches a host address, unless
 *       {@code allowOut} names it. This is what keeps a sandbox off the API whatever address it tries.
 *   <li>{@link #sandbox}: table {@code inet sandbox} in the sandbox's namespace: NAT between the guest's fixed
 *       address and the sandbox's {@code hostIp}, and the egress policy of {@link NetworkSpec} on what the guest
 *       sends (allowOut accepted, then denyOut, then the always-blocked ranges dropped, then the internet accepted
 *       only if the spec allows it). Nothing new from the guest reaches the namespace itself.
 * </ul>
 */
final class NftRules {
    /** The namespace's table (family inet). */
    static final String SANDBOX_TABLE = "sandbox";
    /** The namespace's end of the veth pair. */
    static final String NS_VETH = "veth0";

    /** Blocked for every guest unless {@code allowOut} names them; the pool is added to these. */
    static final List<Cidr> ALWAYS_BLOCKED = Stream.of(
            "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
            "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4").map(Cidr::parse).toList();

    private NftRules() {}

    static String global(NetConfig config) {
        String table = config.globalTable();
        String ours = quote(config.prefix() + "*");
        return replaceTable(table) + "table inet " + table + " {\n"
                + chain("postrouting", "type nat hook postrouting priority srcnat; policy accept;",
                        "ip saddr " + config.pool() + " oifname != " + ours + " masquerade")
                + "\n"
                + chain("forward", "type filter hook forward priority filter; policy accept;",
                        "iifname != " + ours + " ip daddr " + config.pool() + " ct state new drop")
                + "}\n";
    }

    static String host(NetConfig.Slot slot, NetworkSpec spec) {
        String veth = quote(slot.hostVeth());
        return replaceTable(slot.hostTable()) + "table inet " + slot.hostTable() + " {\n"
                + set("allow_out", spec.allowOut())
                + "\n"
                + chain("input", "type filter hook input priority filter; policy accept;",
                        "iifname " + veth + " ct state established,related accept",
                        "iifname " + veth + " ip daddr @allow_out accept",
                        "iifname " + veth + " drop")
                + "}\n";
    }

    static String sandbox(NetConfig config, NetConfig.Slot slot, NetworkSpec spec) {
        String tap = quote(GuestNetLayout.TAP_NAME);
        String veth = quote(NS_VETH);
        String guest = GuestNetLayout.GUEST_IP;
        List<Cidr> blocked = new ArrayList<>(ALWAYS_BLOCKED);
        blocked.add(config.pool());
        List<String> forward = new ArrayList<>(List.of(
                "ct state established,related accept",
                "iifname " + veth + " oifname " + tap + " ct status dnat accept",
                // The guest may send anything; only its own address leaves (and only IPv4: nothing accepts IPv6).
                "iifname " + tap + " ip saddr != " + guest + " drop",
                "iifname " + tap + " oifname " + veth + " ip daddr @allow_out accept",
                "iifname " + tap + " oifname " + veth + " ip daddr @deny_out drop",
                "iifname " + tap + " oifname " + veth + " ip daddr @blocked drop"));
        if (spec.internet()) {
            forward.add("iifname " + tap + " oifname " + veth + " meta nfproto ipv4 accept");
        }
        return replaceTable(SANDBOX_TABLE) + "table inet " + SANDBOX_TABLE + " {\n"
                + set("allow_out", spec.allowOut()) + "\n"
                + set("deny_out", spec.denyOut()) + "\n"
                + set("blocked", blocked) + "\n"
                + chain("prerouting", "type nat hook prerouting priority dstnat; policy accept;",
                        "iifname " + veth + " ip daddr " + slot.hostIp() + " dnat ip to " + guest)
                + "\n"
                + chain("postrouting", "type nat hook postrouting priority srcnat; policy accept;",
                        "oifname " + veth + " ip saddr " + guest + " snat ip to " + slot.hostIp())
                + "\n"
                + chain("forward", "type filter hook forward priority filter; policy drop;",
                        forward.toArray(String[]::new))
                + "\n"
                + chain("input", "type filter hook input priority filter; policy accept;",
                        "ct state established,related accept",
                        "iifname " + tap + " drop")
                + "}\n";
    }

    /**
     * The networks sorted, each one that lies inside another left out: nft refuses overlapping elements in an
     * interval set, and two CIDRs either nest or are disjoint.
     */
    static List<Cidr> normalize(Collection<Cidr> networks) {
        List<Cidr> sorted = networks.stream()
                .sorted(Comparator.comparingLong((Cidr c) -> Integer.toUnsignedLong(c.address()))
                        .thenComparingInt(Cidr::prefix))
                .toList();
        List<Cidr> out = new ArrayList<>();
        for (Cidr c : sorted) {
            // Sorted by address, widest first: a network inside another comes right after the widest one holding it.
            if (out.isEmpty() || !covers(out.getLast(), c)) {
                out.add(c);
            }
        }
        return out;
    }

    private static boolean covers(Cidr outer, Cidr inner) {
        return outer.prefix() <= inner.prefix() && outer.contains(inner.address());
    }

    private static String replaceTable(String name) {
        return "add table inet " + name + "\ndelete table inet " + name + "\n";
    }

    private static String set(String name, Collection<Cidr> networks) {
        StringBuilder s = new StringBuilder("\tset ").append(name).append(" {\n")
                .append("\t\ttype ipv4_addr\n")
                .append("\t\tflags interval\n");
        List<Cidr> elements = normalize(networks);
        if (!elements.isEmpty()) {
            s.append("\t\telements = { ")
                    .append(String.join(", ", elements.stream().map(Cidr::toString).toList()))
                    .append(" }\n");
        }
        return s.append("\t}\n").toString();
    }

    private static String chain(String name, String hook, String... rules) {
        StringBuilder s = new StringBuilder("\tchain ").append(name).append(" {\n")
                .append("\t\t").append(hook).append("\n");
        for (String rule : rules) {
            s.append("\t\t").append(rule).append("\n");
        }
        return s.append("\t}\n").toString();
    }

    private static String quote(String name) {
        return "\"" + name + "\"";
    }
}
