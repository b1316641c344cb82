package dev.sandbox.engine.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sandbox.engine.Cidr;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class NetConfigTest {
    @Test
    void slotNIsTheSlashThirtyAtBasePlusFourN() {
        NetConfig c = NetConfig.DEFAULT;
        assertEquals(16384, c.slots());
        assertEquals(new NetConfig.Slot(0, "sbx-0", "sbx0h", "sbx_0", "10.200.0.1", "10.200.0.2"), c.slot(0));
        assertEquals(new NetConfig.Slot(67, "sbx-67", "sbx67h", "sbx_67", "10.200.1.13", "10.200.1.14"), c.slot(67));
        NetConfig.Slot last = c.slot(16383);
        assertEquals("10.200.255.254", last.hostIp());
        assertEquals("sbx16383h", last.hostVeth());
        assertThrows(IllegalArgumentException.class, () -> c.slot(16384));
        assertThrows(IllegalArgumentException.class, () -> c.slot(-1));
    }

    @Test
    void slotOfAHostIpRoundTripsAndRefusesOtherAddresses() {
        NetConfig c = NetConfig.of("sbt", Cidr.parse("10.201.8.0/22"));
        for (int slot : new int[] {0, 1, 100, c.slots() - 1}) {
            assertEquals(slot, c.slotOf(c.slot(slot).hostIp()));
        }
        for (String bad : new String[] {"10.201.8.1", "10.201.8.3", "10.201.12.2", "10.200.8.2", "nonsense"}) {
            assertThrows(IllegalArgumentException.class, () -> c.slotOf(bad), bad);
        }
    }

    @Test
    void interfaceNamesMustFitTheKernelsFifteenCharacters() {
        // /8: 4194304 slots, 7 digits: 7 + 7 + 1 = 15 fits, one more letter does not.
        new NetConfig("abcdefg", Cidr.parse("10.0.0.0/8"), true, Duration.ofSeconds(1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NetConfig.of("abcdefgh", Cidr.parse("10.0.0.0/8")));
        assertTrue(e.getMessage().contains("16 characters"), e.getMessage());
    }

    @Test
    void refusesBadPrefixesPoolsAndTimeouts() {
        for (String prefix : new String[] {"", "Sbx", "1sb", "sb-x", "sb_x"}) {
            assertThrows(IllegalArgumentException.class, () -> NetConfig.of(prefix, NetConfig.DEFAULT_POOL), prefix);
        }
        assertThrows(IllegalArgumentException.class, () -> NetConfig.of("sbx", Cidr.parse("10.0.0.0/31")));
        assertThrows(IllegalArgumentException.class, () -> NetConfig.of("sbx", Cidr.parse("0.0.0.0/0")));
        assertThrows(IllegalArgumentException.class,
                () -> new NetConfig("sbx", NetConfig.DEFAULT_POOL, true, Duration.ZERO));
        assertEquals(1, NetConfig.of("sbx", Cidr.parse("10.0.0.0/30")).slots());
    }

    @Test
    void recognisesOnlyItsOwnNames() {
        NetConfig c = NetConfig.DEFAULT;
        assertTrue(c.isOurNetns("sbx-12"));
        assertTrue(c.isOurHostLink("sbx12h"));
        assertTrue(c.isOurSandboxTable("sbx_12"));
        for (String other : new String[] {"sbx-taptest-1", "sbx-", "sbxt0", "sbx12", "sbx12hh", "sbt-1", "sbx_1a",
                "xsbx-1", "sbx"}) {
            assertFalse(c.isOurNetns(other) || c.isOurHostLink(other) || c.isOurSandboxTable(other), other);
        }
    }
}
