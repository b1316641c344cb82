package dev.sandbox.engine.vmm.devices;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BusTest {
    private final List<String> accesses = new ArrayList<>();

    private BusDevice recorder(String name) {
        return new BusDevice() {
            @Override
            public void read(long offset, byte[] data) {
                accesses.add(name + " read " + offset + "/" + data.length);
                BusData.put(data, 0x1122_3344_5566_7788L);
            }

            @Override
            public void write(long offset, byte[] data) {
                accesses.add(name + " write " + offset + "=" + Long.toHexString(BusData.get(data)));
            }
        };
    }

    @Test
    void dispatchesToTheOwningDeviceWithRelativeOffsets() {
        Bus bus = Bus.portIo();
        bus.insert(recorder("com1"), 0x3f8, 8);
        bus.insert(recorder("i8042"), 0x60, 5);
        byte[] data = new byte[2];
        assertTrue(bus.read(0x3fe, data));
        assertEquals(0x7788, BusData.get(data));
        assertTrue(bus.write(0x64, new byte[] {(byte) 0xfe}));
        assertEquals(List.of("com1 read 6/2", "i8042 write 4=fe"), accesses);
    }

    @Test
    void reportsAccessesNoDeviceCoversWhole() {
        Bus bus = Bus.mmio();
        bus.insert(recorder("virtio"), 0xd000_0000L, 0x1000);
        assertFalse(bus.read(0xcfff_ffffL, new byte[4]));
        assertFalse(bus.read(0xd000_0ffeL, new byte[4])); // straddles the end
        assertFalse(bus.write(0xd000_1000L, new byte[4]));
        assertTrue(bus.read(0xd000_0ffcL, new byte[4]));
    }

    @Test
    void rejectsOverlappingRanges() {
        Bus bus = Bus.mmio();
        bus.insert(recorder("a"), 0x1000, 0x100);
        bus.insert(recorder("b"), 0x2000, 0x100);
        assertThrows(IllegalArgumentException.class, () -> bus.insert(recorder("c"), 0x10ff, 1));
        assertThrows(IllegalArgumentException.class, () -> bus.insert(recorder("c"), 0x0f00, 0x101));
        assertThrows(IllegalArgumentException.class, () -> bus.insert(recorder("c"), 0x0, 0x10000));
        assertThrows(IllegalArgumentException.class, () -> bus.insert(recorder("c"), Long.MAX_VALUE, 2));
        bus.insert(recorder("c"), 0x1100, 0xf00);
    }

    @Test
    void busDataIsLittleEndian() {
        byte[] data = new byte[4];
        BusData.put(data, 0x7472_6976L);
        assertEquals('v', data[0]);
        assertEquals(0x7472_6976L, BusData.get(data));
        assertEquals(0xffff_ffffL, BusData.get(new byte[] {-1, -1, -1, -1}));
    }
}
