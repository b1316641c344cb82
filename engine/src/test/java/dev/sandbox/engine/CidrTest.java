package dev.sandbox.engine;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CidrTest {

    @Test
    void parsesNetworksAndBareAddresses() {
        assertEquals("198.51.100.0/24", Cidr.parse("198.51.100.0/24").toString());
        assertEquals("10.1.2.3/32", Cidr.parse("10.1.2.3").toString());
        assertEquals("0.0.0.0/0", Cidr.parse("0.0.0.0/0").toString());
        assertEquals("255.255.255.255/32", Cidr.parse("255.255.255.255/32").toString());
    }

    @Test
    void containsByPrefix() {
        Cidr net = Cidr.parse("198.51.100.0/24");
        assertTrue(net.contains(Cidr.parse("198.51.100.200").address()));
        assertFalse(net.contains(Cidr.parse("198.51.101.1").address()));
        assertTrue(Cidr.parse("0.0.0.0/0").contains(Cidr.parse("203.0.113.9").address()));
    }

    @Test
    void refusesWhatIsNotAnIpv4Network() {
        for (String bad : List.of("", "10.0.0.1/8", "256.0.0.0/8", "1.2.3/24", "1.2.3.4/33", "::1/128",
                "01.2.3.4", "1.2.3.4/08", "1.2.3.4/", " 1.2.3.4", "a.b.c.d")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Cidr.parse(bad), bad);
            assertTrue(e.getMessage().contains(bad) || e.getMessage().contains("prefix"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Cidr.parse(null));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Cidr.parse("10.0.0.1/8")).getMessage()
                .contains("10.0.0.0/8"), "names the network meant");
    }

    @Test
    void networkSpecBoundsItsLists() {
        List<Cidr> many = java.util.Collections.nCopies(NetworkSpec.MAX_RULES + 1, Cidr.parse("1.2.3.4"));
        assertThrows(IllegalArgumentException.class, () -> new NetworkSpec(true, many, List.of()));
        assertEquals(NetworkSpec.MAX_RULES, new NetworkSpec(true, many.subList(0, NetworkSpec.MAX_RULES), List.of())
                .allowOut().size());
    }
}
