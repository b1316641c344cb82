package dev.sandbox.engine.vmm.builder;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BootCommandLineTest {
    @Test
    void declaresConsoleHostnameAndEveryVirtioSlot() {
        assertEquals("console=ttyS0 reboot=k panic=1 pci=off nomodule i8042.noaux i8042.nomux i8042.nopnp"
                        + " i8042.dumbkbd quiet sandbox.hostname=sb-1a2b virtio_mmio.device=4K@0xd0000000:5"
                        + " virtio_mmio.device=4K@0xd0001000:6",
                BootCommandLine.build("sb-1a2b", 2).toString());
    }

    @Test
    void aVmWithANicGetsItsAddressFromTheKernel() {
        String line = BootCommandLine.build("sb-1a2b", 3, true).toString();
        assertTrue(line.contains(" ip=169.254.0.21::169.254.0.22:255.255.255.252::eth0:off "), line);
        assertTrue(line.endsWith(" virtio_mmio.device=4K@0xd0002000:7"), "the NIC's slot: " + line);
        assertFalse(BootCommandLine.build("sb-1a2b", 2).toString().contains("ip="), "no NIC, no address");
    }

    @Test
    void rejectsHostnamesTheAgentWouldIgnore() {
        assertThrows(IllegalArgumentException.class, () -> BootCommandLine.build("a b", 1));
        assertThrows(IllegalArgumentException.class, () -> BootCommandLine.build("", 1));
        assertThrows(IllegalArgumentException.class, () -> BootCommandLine.build("x".repeat(65), 1));
    }
}
