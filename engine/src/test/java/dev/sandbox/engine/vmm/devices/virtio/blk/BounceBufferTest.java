package dev.sandbox.engine.vmm.devices.virtio.blk;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class BounceBufferTest {

    /** Counts the backend calls a transfer makes. */
    private static final class CountingDisk extends ForwardingDisk {
        int calls;

        CountingDisk(int capacity) {
            super(new MemoryDisk(capacity));
        }

        @Override
        public void read(long offset, MemorySegment destination) throws IOException {
            calls++;
            super.read(offset, destination);
        }

        @Override
        public void write(long offset, MemorySegment source) throws IOException {
            calls++;
            super.write(offset, source);
        }
    }

    @Test
    void manySmallBuffersGoInOneCallPerRunAndArriveInOrder() throws IOException {
        // 600 pages of 4 KiB and some odd sizes, an empty one among them: more than two runs' worth
        List<MemorySegment> slices = new ArrayList<>();
        Random random = new Random(7);
        long total = 0;
        for (int i = 0; i < 600; i++) {
            int size = i == 10 ? 0 : i % 50 == 0 ? 512 : 4096;
            byte[] data = new byte[size];
            random.nextBytes(data);
            slices.add(MemorySegment.ofArray(data));
            total += size;
        }
        CountingDisk disk = new CountingDisk(4 << 20);
        BounceBuffer bounce = new BounceBuffer();
        bounce.transfer(disk, slices, 8192, true);
        assertEquals((total + BounceBuffer.SIZE - 1) / BounceBuffer.SIZE, disk.calls, "one write per run");

        List<MemorySegment> back = new ArrayList<>();
        for (MemorySegment s : slices) {
            back.add(MemorySegment.ofArray(new byte[(int) s.byteSize()]));
        }
        disk.calls = 0;
        bounce.transfer(disk, back, 8192, false);
        assertEquals((total + BounceBuffer.SIZE - 1) / BounceBuffer.SIZE, disk.calls, "one read per run");
        for (int i = 0; i < slices.size(); i++) {
            assertArrayEquals(slices.get(i).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                    back.get(i).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), "slice " + i);
        }
        byte[] flat = ((MemoryDisk) disk.delegate).bytes;
        assertEquals(slices.getFirst().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0), flat[8192],
                "the first byte at the request's offset");
    }
}
