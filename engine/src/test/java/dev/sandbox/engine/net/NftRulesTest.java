package dev.sandbox.engine.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sandbox.engine.Cidr;
import dev.sandbox.engine.NetworkSpec;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The rendered text; {@code SandboxNetnsTest} loads the same scripts into nft and checks what they do. */
class NftRulesTest {
    private static final NetConfig CONFIG = NetConfig.of("sbt", Cidr.parse("10.201.0.0/16"));
    private static final NetConfig.Slot SLOT = CONFIG.slot(3);

    private static List<Cidr> cidrs(String... texts) {
        return Stream.of(texts).map(Cidr::parse).toList();
    }

    @Test
    void normalizeSortsAndDropsNetworksInsideOthers() {
        assertEquals(cidrs("10.0.0.0/8", "172.16.0.0/12", "192.168.1.0/24", "192.168.2.0/24"),
                NftRules.normalize(cidrs("192.168.2.0/24", "10.1.2.3", "172.16.0.0/12", "10.0.0.0/8",
                        "192.168.1.0/24", "10.200.0.0/16", "172.16.5.0/24", "192.168.1.0/24")));
        assertEquals(cidrs("0.0.0.0/0"), NftRules.normalize(cidrs("8.8.8.8", "0.0.0.0/0", "255.255.255.255")));
        assertEquals(cidrs("100.0.0.0/8", "200.0.0.0/8"), NftRules.normalize(cidrs("200.0.0.0/8", "100.0.0.0/8")),
                "high addresses compare unsigned");
        assertEquals(List.of(), NftRules.normalize(List.of()));
    }

    @Test
    void namespaceTableNatsBetweenTheGuestAndTheSandboxsHostAddress() {
        String rules = NftRules.sandbox(CONFIG, SLOT, NetworkSpec.DEFAULT);
        assertTrue(rules.startsWith("add table inet sandbox\ndelete table inet sandbox\ntable inet sandbox {\n"),
                "replaces the table whole:\n" + rules);
        assertTrue(rules.contains("iifname \"veth0\" ip daddr 10.201.0.14 dnat ip to 169.254.0.21\n"), rules);
        assertTrue(rules.contains("oifname \"veth0\" ip saddr 169.254.0.21 snat ip to 10.201.0.14\n"), rules);
        assertTrue(rules.contains("type filter hook forward priority filter; policy drop;"), rules);
        assertTrue(rules.contains("iifname \"veth0\" oifname \"tap0\" ct status dnat accept"), rules);
    }

    @Test
    void egressRulesComeInThePolicysOrder() {
        NetworkSpec spec = new NetworkSpec(true, cidrs("192.168.7.0/24"), cidrs("203.0.113.0/24"));
        List<String> forward = chain(NftRules.sandbox(CONFIG, SLOT, spec), "forward");
        assertEquals(List.of(
                "type filter hook forward priority filter; policy drop;",
                "ct state established,related accept",
                "iifname \"veth0\" oifname \"tap0\" ct status dnat accept",
                "iifname \"tap0\" ip saddr != 169.254.0.21 drop",
                "iifname \"tap0\" oifname \"veth0\" ip daddr @allow_out accept",
                "iifname \"tap0\" oifname \"veth0\" ip daddr @deny_out drop",
                "iifname \"tap0\" oifname \"veth0\" ip daddr @blocked drop",
                "iifname \"tap0\" oifname \"veth0\" meta nfproto ipv4 accept"), forward);
        String rules = NftRules.sandbox(CONFIG, SLOT, spec);
        assertTrue(rules.contains("set allow_out {\n\t\ttype ipv4_addr\n\t\tflags interval\n"
                + "\t\telements = { 192.168.7.0/24 }\n\t}"), rules);
        assertTrue(rules.contains("\t\telements = { 203.0.113.0/24 }\n"), rules);
    }

    @Test
    void withoutInternetNothingButAllowOutLeaves() {
        List<String> forward = chain(NftRules.sandbox(CONFIG, SLOT, new NetworkSpec(false, List.of(), List.of())),
                "forward");
        assertTrue(forward.getLast().endsWith("@blocked drop"), forward.toString());
        assertFalse(forward.stream().anyMatch(r -> r.contains("nfproto ipv4 accept")), forward.toString());
        assertTrue(forward.contains("iifname \"tap0\" oifname \"veth0\" ip daddr @allow_out accept"));
    }

    @Test
    void blockedSetHoldsTheDefaultsAndThePool() {
        String rules = NftRules.sandbox(CONFIG, SLOT, NetworkSpec.DEFAULT);
        // 10.201.0.0/16 lies inside 10.0.0.0/8, so only the defaults are listed, sorted.
        assertTrue(rules.contains("elements = { 0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, "
                + "172.16.0.0/12, 192.168.0.0/16, 224.0.0.0/4, 240.0.0.0/4 }"), rules);
        NetConfig elsewhere = NetConfig.of("sbt", Cidr.parse("198.18.0.0/16"));
        String other = NftRules.sandbox(elsewhere, elsewhere.slot(0), NetworkSpec.DEFAULT);
        assertTrue(other.contains("192.168.0.0/16, 198.18.0.0/16, 224.0.0.0/4"), other);
        // Empty sets have no elements line (nft refuses an empty one).
        assertEquals(1, count(rules, "elements = "), rules);
    }

    @Test
    void namespaceInputDropsNewTrafficFromTheGuest() {
        assertEquals(List.of("type filter hook input priority filter; policy accept;",
                "ct state established,related accept", "iifname \"tap0\" drop"),
                chain(NftRules.sandbox(CONFIG, SLOT, NetworkSpec.DEFAULT), "input"));
    }

    @Test
    void hostTableDropsEverythingNewFromTheVethButAllowOut() {
        String rules = NftRules.host(SLOT, new NetworkSpec(true, cidrs("10.201.0.13"), List.of()));
        assertTrue(rules.startsWith("add table inet sbt_3\ndelete table inet sbt_3\ntable inet sbt_3 {\n"), rules);
        assertEquals(List.of("type filter hook input priority filter; policy accept;",
                "iifname \"sbt3h\" ct state established,related accept",
                "iifname \"sbt3h\" ip daddr @allow_out accept",
                "iifname \"sbt3h\" drop"), chain(rules, "input"));
        assertTrue(rules.contains("elements = { 10.201.0.13/32 }"), rules);
    }

    @Test
    void globalTableMasqueradesThePoolOutOfNonSandboxLinksAndGuardsItsWayIn() {
        String rules = NftRules.global(CONFIG);
        assertTrue(rules.startsWith("add table inet sbt\ndelete table inet sbt\ntable inet sbt {\n"), rules);
        assertEquals(List.of("type nat hook postrouting priority srcnat; policy accept;",
                "ip saddr 10.201.0.0/16 oifname != \"sbt*\" masquerade"), chain(rules, "postrouting"));
        assertEquals(List.of("type filter hook forward priority filter; policy accept;",
                "iifname != \"sbt*\" ip daddr 10.201.0.0/16 ct state new drop"), chain(rules, "forward"));
    }

    /** The lines of chain {@code name}, stripped. */
    private static List<String> chain(String rules, String name) {
        int start = rules.indexOf("\tchain " + name + " {\n");
        assertTrue(start >= 0, "no chain " + name + " in\n" + rules);
        int end = rules.indexOf("\n\t}\n", start);
        return rules.substring(start, end).lines().skip(1).map(String::strip).toList();
    }

    private static int count(String text, String what) {
        return (text.length() - text.replace(what, "").length()) / what.length();
    }
}
