package dev.sandbox.engine.vmm.arch;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CmdlineTest {
    @Test
    void joinsTokensWithSingleSpacesAndDeclaresVirtioDevices() {
        Cmdline cmdline = new Cmdline().append("console=ttyS0 reboot=k").put("panic", "1")
                .virtioMmioDevice(Layout.virtioMmioBase(0), Layout.VIRTIO_MMIO_SIZE, Layout.virtioIrq(0));
        assertEquals("console=ttyS0 reboot=k panic=1 virtio_mmio.device=4K@0xd0000000:5", cmdline.toString());
        assertArrayEquals("a=b\0".getBytes(), new Cmdline().put("a", "b").toBytesWithNul());
    }

    @Test
    void keepsRoomForTheNul() {
        Cmdline cmdline = new Cmdline(8).append("1234567");
        assertEquals(7, cmdline.length());
        assertThrows(IllegalArgumentException.class, () -> new Cmdline(8).append("12345678"));
        assertThrows(IllegalArgumentException.class, () -> new Cmdline(8).append("1234").append("567"));
        assertThrows(IllegalArgumentException.class, () -> new Cmdline().append("x".repeat(Layout.CMDLINE_MAX_SIZE)));
    }

    @Test
    void rejectsInvalidText() {
        assertThrows(IllegalArgumentException.class, () -> new Cmdline().append("a\nb"));
        assertThrows(IllegalArgumentException.class, () -> new Cmdline().append("é"));
        assertThrows(IllegalArgumentException.class, () -> new Cmdline().put("a b", "c"));
        assertThrows(IllegalArgumentException.class, () -> new Cmdline().put("a=", "c"));
        assertThrows(IllegalArgumentException.class, () -> new Cmdline().put("a", "b c"));
        assertThrows(IllegalArgumentException.class, () -> new Cmdline().put("", "c"));
    }
}
