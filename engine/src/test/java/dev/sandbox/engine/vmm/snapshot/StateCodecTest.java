package dev.sandbox.engine.vmm.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class StateCodecTest {
    @Test
    void everyTypeRoundTrips() {
        byte[] blob = {1, 2, 3, (byte) 0xff};
        byte[] payload = new StateWriter()
                .section("cpu")
                .u8(0).u8(0xff)
                .u16(0).u16(0xffff)
                .i32(Integer.MIN_VALUE).i32(-1).i32(Integer.MAX_VALUE)
                .i64(Long.MIN_VALUE).i64(0x0123_4567_89ab_cdefL)
                .bool(true).bool(false)
                .bytes(blob).bytes(new byte[0])
                .string("héllo, 世界 🙂").string("")
                .section("memory")
                .i32(3).i64(1L << 40)
                .toByteArray();

        StateReader r = new StateReader(payload);
        r.expectSection("cpu");
        assertEquals(0, r.u8());
        assertEquals(0xff, r.u8());
        assertEquals(0, r.u16());
        assertEquals(0xffff, r.u16());
        assertEquals(Integer.MIN_VALUE, r.i32());
        assertEquals(-1, r.i32());
        assertEquals(Integer.MAX_VALUE, r.i32());
        assertEquals(Long.MIN_VALUE, r.i64());
        assertEquals(0x0123_4567_89ab_cdefL, r.i64());
        assertTrue(r.bool());
        assertFalse(r.bool());
        assertArrayEquals(blob, r.bytes(4));
        assertArrayEquals(new byte[0], r.bytes(0));
        assertEquals("héllo, 世界 🙂", r.string(100));
        assertEquals("", r.string(0));
        r.expectSection("memory");
        assertEquals(3, r.i32InRange("vcpu count", 1, 3));
        assertEquals(1L << 40, r.i64InRange("memory size", 0, 1L << 40));
        r.expectEnd();
    }

    @Test
    void writerRefusesValuesItsTypeCannotHold() {
        StateWriter w = new StateWriter();
        assertThrows(IllegalArgumentException.class, () -> w.u8(256));
        assertThrows(IllegalArgumentException.class, () -> w.u8(-1));
        assertThrows(IllegalArgumentException.class, () -> w.u16(0x10000));
        assertEquals(0, w.toByteArray().length);
    }

    @Test
    void boundedReadsRefuseNegativeHugeAndPastTheEndLengths() {
        refused(() -> reader(-1).bytes(100), "bytes length -1 at offset 0 is negative");
        refused(() -> reader(Integer.MIN_VALUE).string(100), "string length -2147483648 at offset 0 is negative");
        refused(() -> reader(101).bytes(100), "bytes length 101 at offset 0 is over the limit of 100");
        refused(() -> reader(Integer.MAX_VALUE).string(Integer.MAX_VALUE), "truncated: string at offset 4");
        refused(() -> reader(Integer.MAX_VALUE).bytes(Integer.MAX_VALUE), "needs 2147483647 bytes, 0 left");
        byte[] shortBytes = new StateWriter().i32(10).u8(1).u8(2).toByteArray();
        refused(() -> new StateReader(shortBytes).bytes(10), "truncated: bytes at offset 4 needs 10 bytes, 2 left");
    }

    @Test
    void invalidUtf8AndBoolsAreRefused() {
        byte[] badUtf8 = new StateWriter().bytes(new byte[] {(byte) 0xc3, 0x28}).toByteArray();
        refused(() -> new StateReader(badUtf8).string(10), "string at offset 0 is not valid UTF-8");
        byte[] badBool = new StateWriter().u8(2).toByteArray();
        refused(() -> new StateReader(badBool).bool(), "bool byte 2 at offset 0 is neither 0 nor 1");
    }

    @Test
    void aWrongSectionTagNamesBoth() {
        byte[] p = new StateWriter().section("devices").toByteArray();
        refused(() -> new StateReader(p).expectSection("cpu"), "expected section 'cpu' at offset 0, found 'devices'");
        byte[] huge = new StateWriter().i32(1 << 30).toByteArray();
        refused(() -> new StateReader(huge).expectSection("cpu"), "over the limit");
    }

    @Test
    void everyReadPastTheEndIsTruncated() {
        byte[] three = {1, 2, 3};
        refused(() -> new StateReader(new byte[0]).u8(), "truncated: u8 at offset 0 needs 1 bytes, 0 left");
        refused(() -> new StateReader(new byte[1]).u16(), "truncated: u16");
        refused(() -> new StateReader(three).i32(), "truncated: i32 at offset 0 needs 4 bytes, 3 left");
        refused(() -> new StateReader(new byte[7]).i64(), "truncated: i64");
        refused(() -> new StateReader(new byte[0]).bool(), "truncated: bool");
        refused(() -> new StateReader(three).bytes(10), "truncated: i32");
        refused(() -> new StateReader(new byte[0]).expectSection("cpu"), "truncated");
        refused(() -> new StateReader(three).i32InRange("vcpus", 0, 1), "truncated");
        refused(() -> new StateReader(three).i64InRange("size", 0, 1), "truncated");
    }

    @Test
    void trailingBytesAreRefused() {
        StateReader r = new StateReader(new StateWriter().i32(1).u8(9).u8(9).toByteArray());
        assertEquals(1, r.i32());
        refused(r::expectEnd, "2 trailing bytes after the state at offset 4");
    }

    @Test
    void outOfRangeValuesNameWhatTheyAre() {
        byte[] p = new StateWriter().i32(65).i64(-5).toByteArray();
        StateReader r = new StateReader(p);
        refused(() -> r.i32InRange("vcpu count", 1, 64), "vcpu count 65 is outside [1, 64]");
        refused(() -> r.i64InRange("memory size", 0, Long.MAX_VALUE), "memory size -5 is outside [0, ");
    }

    @Test
    void randomGarbageOnlyEverFailsWithSnapshotFormatException() {
        var random = new java.util.Random(42);
        for (int i = 0; i < 2000; i++) {
            byte[] garbage = new byte[random.nextInt(40)];
            random.nextBytes(garbage);
            StateReader r = new StateReader(garbage);
            try {
                r.expectSection("cpu");
                r.bytes(1 << 20);
                r.string(1 << 20);
                r.bool();
                r.i64InRange("x", 0, 10);
                r.expectEnd();
            } catch (SnapshotFormatException expected) {
                // the only acceptable failure
            }
        }
    }

    private static StateReader reader(int length) {
        return new StateReader(ByteBuffer.allocate(4).putInt(length).array());
    }

    private static void refused(Executable read, String reason) {
        var e = assertThrows(SnapshotFormatException.class, read);
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }
}
