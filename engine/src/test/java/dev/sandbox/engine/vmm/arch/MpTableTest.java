package dev.sandbox.engine.vmm.arch;

import dev.sandbox.engine.vmm.memory.GuestMemory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MpTableTest {
    @ParameterizedTest
    @ValueSource(ints = {1, 4, MpTable.MAX_CPUS})
    void tablesAreChecksummedAndCountTheirEntries(int cpus) {
        GuestMemory memory = ArchTestSupport.memory();
        MpTable.write(memory, cpus);
        long fp = Layout.MPTABLE_START;
        assertEquals("_MP_", ascii(memory, fp, 4));
        assertEquals(fp + 16, memory.readU32(fp + 4));
        assertEquals(1, memory.readU8(fp + 8));
        assertEquals(4, memory.readU8(fp + 9));
        assertEquals(0, sum(memory, fp, 16));

        long config = fp + 16;
        int length = memory.readU16(config + 4);
        assertEquals("PCMP", ascii(memory, config, 4));
        assertEquals(MpTable.size(cpus) - 16, length);
        assertEquals(0, sum(memory, config, length));
        assertEquals(cpus + 2 + 24 + 2, memory.readU16(config + 34));
        assertEquals(0xfee0_0000L, memory.readU32(config + 36));

        int[] counts = new int[5];
        long at = config + 44;
        int ioInterrupts = 0;
        while (at < config + length) {
            int type = memory.readU8(at);
            counts[type]++;
            if (type == 0) {
                int apicId = memory.readU8(at + 1);
                assertEquals(apicId == 0 ? 3 : 1, memory.readU8(at + 3)); // enabled, boot processor first
                at += 20;
            } else {
                if (type == 3) {
                    assertEquals(ioInterrupts, memory.readU8(at + 5));  // source IRQ
                    assertEquals(cpus + 1, memory.readU8(at + 6));      // to the IOAPIC
                    assertEquals(ioInterrupts++, memory.readU8(at + 7)); // same pin
                }
                at += 8;
            }
        }
        assertEquals(config + length, at);
        assertEquals(cpus, counts[0]);
        assertEquals(1, counts[1]);
        assertEquals(1, counts[2]);
        assertEquals(24, counts[3]);
        assertEquals(2, counts[4]);
    }

    @Test
    void rejectsUnsupportedCpuCounts() {
        assertThrows(IllegalArgumentException.class, () -> MpTable.build(Layout.MPTABLE_START, 0));
        assertThrows(IllegalArgumentException.class, () -> MpTable.build(Layout.MPTABLE_START, MpTable.MAX_CPUS + 1));
    }

    private static String ascii(GuestMemory memory, long address, int length) {
        return new String(memory.read(address, length), java.nio.charset.StandardCharsets.US_ASCII);
    }

    private static int sum(GuestMemory memory, long address, int length) {
        int sum = 0;
        for (byte b : memory.read(address, length)) {
            sum += b;
        }
        return sum & 0xff;
    }
}
