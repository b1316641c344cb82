package dev.sandbox.engine.vmm.devices.virtio.net;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MacAddressTest {
    @Test
    void parsesAndPrintsOctetsInWireOrder() {
        MacAddress mac = MacAddress.parse("02:AB:cd:00:10:ff");
        assertEquals(0x02abcd0010ffL, mac.value());
        assertEquals(0x02, mac.octet(0));
        assertEquals(0xff, mac.octet(5));
        assertEquals("02:ab:cd:00:10:ff", mac.toString());
    }

    @Test
    void refusesMulticastAndMalformedAddresses() {
        assertThrows(IllegalArgumentException.class, () -> MacAddress.parse("01:00:5e:00:00:01"));
        assertThrows(IllegalArgumentException.class, () -> MacAddress.parse("02:00:00:00:00"));
        assertThrows(IllegalArgumentException.class, () -> MacAddress.parse("02:00:00:00:00:0g"));
        assertThrows(IllegalArgumentException.class, () -> MacAddress.parse("02:00:00:00:00:001"));
        assertThrows(IllegalArgumentException.class, () -> new MacAddress(1L << 48));
    }
}
