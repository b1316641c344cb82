package dev.sandbox.engine.vmm.devices.virtio.blk;

import dev.sandbox.engine.vmm.snapshot.SnapshotFormatException;
import dev.sandbox.engine.vmm.snapshot.StateReader;
import dev.sandbox.engine.vmm.snapshot.StateWriter;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DiskStateCodecTest {
    private static final DiskState STATE = new DiskState(new DiskState.Base(Path.of("/t/base.img"), 123_456, 1_700_000),
            List.of(new DiskState.Layer(Path.of("/t/template.ovl"), 0xdead_beefL, 7),
                    new DiskState.Layer(Path.of("/s/sb-1/disk.ovl"), 0, 0)),
            1L << 30);

    @Test
    void roundTripsInsideAPayload() {
        StateWriter w = new StateWriter().i32(42);
        DiskStateCodec.encode(STATE, w);
        w.i32(43);
        StateReader r = new StateReader(w.toByteArray());
        assertEquals(42, r.i32());
        assertEquals(STATE, DiskStateCodec.decode(r));
        assertEquals(43, r.i32());
        r.expectEnd();
    }

    @Test
    void refusesWhatNoDiskCanHave() {
        assertRefused(new StateWriter().section("disk").i64(5000), "whole blocks");
        assertRefused(new StateWriter().section("disk").i64(0), "disk capacity");
        assertRefused(new StateWriter().section("disk").i64(1L << 41), "disk capacity");
        assertRefused(prefix().string("relative/base"), "not an absolute path");
        assertRefused(prefix().string("/base").i64(-1), "disk base size");
        assertRefused(base().i32(0), "layer count");
        assertRefused(base().i32(17), "layer count");
        assertRefused(base().i32(1).string("/l").i64(1L << 32), "crc");
        assertRefused(base().i32(1).string("/l").i64(1).i64((4096L * 1024) / 4096 + 1), "blocks");
        assertRefused(base().i32(1).string("/l\0x"), "absolute path");
        assertRefused(base().i32(2).string("/l").i64(1).i64(1), "truncated");
        assertRefused(new StateWriter().section("net"), "expected section 'disk'");
    }

    @Test
    void aDiskStateHoldsOneToSixteenLayers() {
        DiskState.Layer layer = STATE.top();
        assertThrows(IllegalArgumentException.class, () -> new DiskState(STATE.base(), List.of(), 1L << 30));
        assertThrows(IllegalArgumentException.class,
                () -> new DiskState(STATE.base(), Collections.nCopies(17, layer), 1L << 30));
        assertEquals(16, new DiskState(STATE.base(), Collections.nCopies(16, layer), 1L << 30).layers().size());
    }

    private static StateWriter prefix() {
        return new StateWriter().section("disk").i64(4096L * 1024);
    }

    private static StateWriter base() {
        return prefix().string("/base").i64(10).i64(20);
    }

    private static void assertRefused(StateWriter w, String why) {
        SnapshotFormatException e = assertThrows(SnapshotFormatException.class,
                () -> DiskStateCodec.decode(new StateReader(w.toByteArray())));
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }
}
