package dev.sandbox.engine.vmm.devices.virtio.net;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NetHeaderTest {
    @Test
    void readsAndWritesTheLittleEndianLayout() {
        byte[] bytes = {1, 4, 0x36, 0, (byte) 0xa8, 0x05, 0x22, 0, 0x10, 0, 1, 0};
        NetHeader header = NetHeader.read(MemorySegment.ofArray(bytes));
        assertEquals(new NetHeader(1, 4, 54, 1448, 34, 16, 1), header);
        MemorySegment out = MemorySegment.ofArray(new byte[NetHeader.SIZE]);
        header.write(out);
        assertArrayEquals(bytes, out.toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void onlyChecksumAndSegmentationAreOffloads() {
        assertFalse(NetHeader.plain(1).needsOffload());
        assertFalse(new NetHeader(NetHeader.F_DATA_VALID, 0, 0, 0, 0, 0, 0).needsOffload());
        assertTrue(new NetHeader(NetHeader.F_NEEDS_CSUM, 0, 0, 0, 0, 0, 0).needsOffload());
        assertTrue(new NetHeader(0, 1, 0, 0, 0, 0, 0).needsOffload());
    }
}
