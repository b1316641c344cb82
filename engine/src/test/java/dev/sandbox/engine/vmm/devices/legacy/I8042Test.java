package dev.sandbox.engine.vmm.devices.legacy;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;

class I8042Test {
    private final AtomicInteger resets = new AtomicInteger();
    private final I8042 i8042 = new I8042(resets::incrementAndGet);

    private int in(int offset) {
        byte[] data = new byte[1];
        i8042.read(offset, data);
        return Byte.toUnsignedInt(data[0]);
    }

    private void out(int offset, int value) {
        i8042.write(offset, new byte[] {(byte) value});
    }

    @Test
    void resetCommandCallsBack() {
        assertEquals(0, in(I8042.COMMAND_OFFSET) & 0x02); // input buffer empty: Linux's kb_wait passes
        out(I8042.COMMAND_OFFSET, 0xfe);
        assertEquals(1, resets.get());
    }

    @Test
    void answersTheDriverProbe() {
        assertEquals(0, in(I8042.COMMAND_OFFSET) & I8042.STATUS_OUTPUT_FULL);
        out(I8042.COMMAND_OFFSET, I8042.CMD_SELF_TEST);
        assertEquals(I8042.STATUS_OUTPUT_FULL, in(I8042.COMMAND_OFFSET) & I8042.STATUS_OUTPUT_FULL);
        assertEquals(0x55, in(I8042.DATA_OFFSET));
        out(I8042.COMMAND_OFFSET, I8042.CMD_WRITE_CONFIG);
        out(I8042.DATA_OFFSET, 0x30);
        out(I8042.COMMAND_OFFSET, I8042.CMD_READ_CONFIG);
        assertEquals(0x30, in(I8042.DATA_OFFSET));
        assertEquals(0, in(I8042.COMMAND_OFFSET) & I8042.STATUS_OUTPUT_FULL);
        assertEquals(0, resets.get());
    }
}
