package dev.sandbox.engine.vmm.devices.virtio.blk;

import dev.sandbox.engine.vmm.snapshot.SnapshotFormatException;
import dev.sandbox.engine.vmm.snapshot.StateReader;
import dev.sandbox.engine.vmm.snapshot.StateWriter;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link DiskState} inside a snapshot payload:
 * <pre>
 * section "disk"; i64 capacity; string base path; i64 base size; i64 base modified (ms);
 * i32 layer count (1..16); per layer: string path; i64 crc (u32); i64 blocks
 * </pre>
 * Decoding trusts nothing: counts, lengths and values are bounded, paths must be absolute; every refusal is a
 * {@link SnapshotFormatException}.
 */
public final class DiskStateCodec {
    static final int MAX_PATH = 4096;

    private DiskStateCodec() {
    }

    public static void encode(DiskState s, StateWriter w) {
        w.section("disk").i64(s.capacityBytes()).string(s.base().path().toString()).i64(s.base().size())
                .i64(s.base().modifiedMillis()).i32(s.layers().size());
        for (DiskState.Layer layer : s.layers()) {
            w.string(layer.path().toString()).i64(layer.crc()).i64(layer.blocks());
        }
    }

    public static DiskState decode(StateReader r) {
        r.expectSection("disk");
        long capacity = r.i64InRange("disk capacity", OverlayDisk.BLOCK_SIZE, OverlayDisk.MAX_CAPACITY);
        if (capacity % OverlayDisk.BLOCK_SIZE != 0) {
            throw new SnapshotFormatException("disk capacity " + capacity + " is not whole blocks");
        }
        DiskState.Base base = new DiskState.Base(path(r, "disk base"), r.i64InRange("disk base size", 0,
                Long.MAX_VALUE), r.i64());
        int count = r.i32InRange("disk layer count", 1, OverlayDisk.MAX_LAYERS);
        List<DiskState.Layer> layers = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            layers.add(new DiskState.Layer(path(r, "disk layer"), r.i64InRange("disk layer crc", 0, 0xffff_ffffL),
                    r.i64InRange("disk layer blocks", 0, capacity / OverlayDisk.BLOCK_SIZE)));
        }
        return new DiskState(base, layers, capacity);
    }

    private static Path path(StateReader r, String what) {
        String path = r.string(MAX_PATH);
        if (!path.startsWith("/") || path.indexOf('\0') >= 0) {
            throw new SnapshotFormatException(what + " is not an absolute path: " + path);
        }
        return Path.of(path);
    }
}
