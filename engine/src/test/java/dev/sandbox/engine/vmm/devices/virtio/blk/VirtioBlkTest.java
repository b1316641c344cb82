package dev.sandbox.engine.vmm.devices.virtio.blk;

import dev.sandbox.engine.vmm.devices.virtio.DriverQueue;
import dev.sandbox.engine.vmm.devices.virtio.MmioDriver;
import dev.sandbox.engine.vmm.devices.virtio.MmioTransport;
import dev.sandbox.engine.vmm.devices.virtio.VirtioFeatures;
import dev.sandbox.engine.vmm.memory.GuestMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VirtioBlkTest {
    private static final long FEATURES = VirtioFeatures.VERSION_1 | BlkFeatures.SEG_MAX | BlkFeatures.BLK_SIZE
            | BlkFeatures.FLUSH;
    private static final int CAPACITY = 64 * 1024;

    private final GuestMemory memory = GuestMemory.wrap(MemorySegment.ofArray(new byte[8 << 20]));
    private final MemoryDisk disk = new MemoryDisk(CAPACITY);
    private final AtomicInteger irqs = new AtomicInteger();
    private VirtioBlk blk = new VirtioBlk(disk);
    private MmioTransport transport = new MmioTransport(blk, memory, irqs::incrementAndGet);
    private MmioDriver driver = new MmioDriver(transport);
    private final DriverQueue queue = new DriverQueue(memory, 64, 0x1_0000, 0x20_0000);

    private void start() {
        driver.start(FEATURES, List.of(queue));
    }

    @Test
    void offersFlushSegMaxAndBlkSizeAndDescribesTheDisk() {
        assertEquals(FEATURES, driver.deviceFeatures());
        assertEquals(VirtioBlk.DEVICE_TYPE, blk.deviceType());
        assertArrayEquals(le64(CAPACITY / 512), driver.readConfig(0, 8), "capacity in sectors");
        assertEquals((byte) (CAPACITY / 512 >> 8), driver.readConfig(1, 1)[0], "byte-wise too");
        assertArrayEquals(new byte[4], driver.readConfig(8, 4), "size_max not offered");
        assertArrayEquals(le32(VirtioBlk.QUEUE_SIZE - 2), driver.readConfig(12, 4));
        assertArrayEquals(le32(4096), driver.readConfig(20, 4));
        assertArrayEquals(new byte[8], driver.readConfig(24, 8), "nothing past blk_size");
    }

    @Test
    void writesThenReadsBackAcrossBuffers() {
        start();
        byte[] data = noise(3 * 512);
        byte[] header = header(VirtioBlk.T_OUT, 0, 4);
        DriverQueue.Buffer status = queue.writable(1);
        int out = queue.add(queue.readable(Arrays.copyOf(header, 8)), queue.readable(Arrays.copyOfRange(header, 8, 16)),
                queue.readable(Arrays.copyOf(data, 1024)), queue.readable(Arrays.copyOfRange(data, 1024, 1536)),
                status);
        driver.notifyQueue(0);
        assertEquals(new DriverQueue.Used(out, 1), queue.nextUsed());
        assertEquals(VirtioBlk.S_OK, memory.readU8(status.address()));
        assertArrayEquals(data, Arrays.copyOfRange(disk.bytes, 4 * 512, 7 * 512));

        DriverQueue.Buffer first = queue.writable(512);
        DriverQueue.Buffer rest = queue.writable(1024 + 1); // the status byte shares the last data buffer
        int in = queue.add(queue.readable(header(VirtioBlk.T_IN, 0, 4)), first, rest);
        driver.notifyQueue(0);
        assertEquals(new DriverQueue.Used(in, 1536 + 1), queue.nextUsed());
        assertEquals(VirtioBlk.S_OK, memory.readU8(rest.address() + 1024));
        byte[] back = new byte[1536];
        memory.read(first.address(), back, 0, 512);
        memory.read(rest.address(), back, 512, 1024);
        assertArrayEquals(data, back);
        assertEquals(2, irqs.get());
        assertEquals(new BlkMetrics(1, 1, 0, 1536, 1536, 0, 0, 0), blk.metrics());
    }

    @Test
    void flushReachesTheBackend() {
        start();
        DriverQueue.Buffer status = queue.writable(1);
        queue.add(queue.readable(header(VirtioBlk.T_FLUSH, 0, 0)), status);
        driver.notifyQueue(0);
        assertEquals(VirtioBlk.S_OK, memory.readU8(status.address()));
        assertEquals(1, disk.flushes);
        assertEquals(1, blk.metrics().flushes());
    }

    @Test
    void withoutFlushNegotiatedEveryWriteIsFlushed() {
        driver.start(VirtioFeatures.VERSION_1, List.of(queue));
        DriverQueue.Buffer status = queue.writable(1);
        queue.add(queue.readable(header(VirtioBlk.T_OUT, 0, 0)), queue.readable(new byte[512]), status);
        driver.notifyQueue(0);
        assertEquals(VirtioBlk.S_OK, memory.readU8(status.address()));
        assertEquals(1, disk.flushes);
    }

    @Test
    void getIdWritesTheSerialNulPadded() {
        start();
        DriverQueue.Buffer id = queue.writable(20);
        DriverQueue.Buffer status = queue.writable(1);
        int head = queue.add(queue.readable(header(VirtioBlk.T_GET_ID, 0, 0)), id, status);
        driver.notifyQueue(0);
        assertEquals(new DriverQueue.Used(head, 21), queue.nextUsed());
        assertArrayEquals(Arrays.copyOf("mem-disk".getBytes(StandardCharsets.UTF_8), 20), memory.read(id.address(), 20));
        assertEquals(VirtioBlk.S_OK, memory.readU8(status.address()));
    }

    @Test
    void unknownTypesAreUnsupported() {
        start();
        for (int type : new int[] {11 /* DISCARD */, 13 /* WRITE_ZEROES */, 0x8000_0000}) {
            DriverQueue.Buffer status = queue.writable(1);
            queue.add(queue.readable(header(type, 0, 0)), status);
            driver.notifyQueue(0);
            assertEquals(VirtioBlk.S_UNSUPP, memory.readU8(status.address()), "type " + type);
        }
        assertEquals(3, blk.metrics().unsupported());
        assertEquals(0, blk.metrics().errors());
    }

    @Test
    void sectorsPastTheCapacityAreRefusedAndNothingIsWritten() {
        start();
        long lastSector = CAPACITY / 512 - 1;
        for (long sector : new long[] {lastSector, -1L, 1L << 55, CAPACITY / 512 + 1}) {
            DriverQueue.Buffer status = queue.writable(1);
            queue.add(queue.readable(header(VirtioBlk.T_OUT, 0, sector)), queue.readable(fill(1024, 9)), status);
            driver.notifyQueue(0);
            assertEquals(VirtioBlk.S_IOERR, memory.readU8(status.address()), "sector " + sector);
        }
        assertArrayEquals(new byte[CAPACITY], disk.bytes);
        DriverQueue.Buffer status = queue.writable(1);
        queue.add(queue.readable(header(VirtioBlk.T_OUT, 0, lastSector)), queue.readable(fill(512, 9)), status);
        driver.notifyQueue(0);
        assertEquals(VirtioBlk.S_OK, memory.readU8(status.address()), "the last sector itself is fine");
        assertEquals(4, blk.metrics().errors());
    }

    @Test
    void dataThatIsNotWholeSectorsOrInTheWrongDirectionIsRefused() {
        start();
        List<Integer> statuses = new java.util.ArrayList<>();
        DriverQueue.Buffer[] s = new DriverQueue.Buffer[5];
        for (int i = 0; i < s.length; i++) {
            s[i] = queue.writable(1);
        }
        queue.add(queue.readable(header(VirtioBlk.T_OUT, 0, 0)), queue.readable(fill(100, 1)), s[0]);
        queue.add(queue.readable(header(VirtioBlk.T_IN, 0, 0)), queue.writable(513), s[1]);
        // IN with its data in a device-readable buffer; OUT expecting the device to write its data
        queue.add(queue.readable(header(VirtioBlk.T_IN, 0, 0)), queue.readable(fill(512, 1)), s[2]);
        queue.add(queue.readable(header(VirtioBlk.T_OUT, 0, 0)), queue.writable(512), s[3]);
        queue.add(queue.readable(header(VirtioBlk.T_FLUSH, 0, 0)), queue.readable(fill(512, 1)), s[4]);
        driver.notifyQueue(0);
        for (DriverQueue.Buffer b : s) {
            statuses.add(memory.readU8(b.address()));
        }
        assertEquals(List.of(1, 1, 1, 1, 1), statuses);
        assertArrayEquals(new byte[CAPACITY], disk.bytes);
        assertEquals(0, disk.flushes);
        assertEquals(5, blk.metrics().errors());
    }

    @Test
    void aRequestOverTheBoundIsRefusedWithoutTouchingTheBackend() {
        start();
        // 5 writable descriptors over the same 4 MiB: 20 MiB of data asked for, more than MAX_DATA
        DriverQueue.Buffer big = new DriverQueue.Buffer(0x40_0000, 4 << 20, true);
        DriverQueue.Buffer status = queue.writable(1);
        queue.add(queue.readable(header(VirtioBlk.T_IN, 0, 0)), big, big, big, big, big, status);
        disk.failure = new IOException("must not be called");
        driver.notifyQueue(0);
        assertEquals(VirtioBlk.S_IOERR, memory.readU8(status.address()));
        assertEquals(0, blk.metrics().backendErrors());
        assertFalse(driver.needsReset());
    }

    @Test
    void aHeaderInWritableBuffersOrAChainWithoutStatusIsRefusedAndTheDeviceGoesOn() {
        start();
        DriverQueue.Buffer writableHeader = queue.writable(17);
        int first = queue.add(writableHeader);
        int second = queue.add(queue.readable(header(VirtioBlk.T_IN, 0, 0)), queue.readable(new byte[1]));
        DriverQueue.Buffer shortStatus = queue.writable(1);
        int third = queue.add(queue.readable(new byte[12]), shortStatus);
        driver.notifyQueue(0);
        assertEquals(new DriverQueue.Used(first, 1), queue.nextUsed());
        assertEquals(VirtioBlk.S_IOERR, memory.readU8(writableHeader.address() + 16));
        assertEquals(new DriverQueue.Used(second, 0), queue.nextUsed(), "nowhere for a status");
        assertEquals(new DriverQueue.Used(third, 1), queue.nextUsed());
        assertEquals(VirtioBlk.S_IOERR, memory.readU8(shortStatus.address()), "a short header");
        assertFalse(driver.needsReset());
        assertEquals(3, blk.metrics().errors());

        DriverQueue.Buffer status = queue.writable(1);
        queue.add(queue.readable(header(VirtioBlk.T_FLUSH, 0, 0)), status);
        driver.notifyQueue(0);
        assertEquals(VirtioBlk.S_OK, memory.readU8(status.address()));
    }

    @Test
    void aBrokenChainStopsTheDeviceWithoutThrowing() {
        start();
        queue.descriptor(0, 0xffff_ffff_ffff_f000L, 0x2000, 0, 0);
        queue.publish(0);
        driver.notifyQueue(0);
        assertTrue(driver.needsReset());
        assertTrue(transport.failure().startsWith("virtio-blk: "), transport.failure());
    }

    @Test
    void aFailingBackendIsAnIoErrorNotACrash() {
        start();
        disk.failure = new IOException("disk on fire");
        DriverQueue.Buffer status = queue.writable(1);
        queue.add(queue.readable(header(VirtioBlk.T_IN, 0, 0)), queue.writable(512), status);
        driver.notifyQueue(0);
        assertEquals(VirtioBlk.S_IOERR, memory.readU8(status.address()));
        assertEquals(new DriverQueue.Used(0, 1), queue.nextUsed());
        assertEquals(new BlkMetrics(0, 0, 0, 0, 0, 1, 1, 0), blk.metrics());
        assertFalse(driver.needsReset());
    }

    @Test
    void servesAnOverlayDiskEndToEnd(@TempDir Path dir) throws IOException {
        Path base = dir.resolve("base");
        byte[] baseBytes = noise(8192);
        Files.write(base, baseBytes);
        try (OverlayDisk overlay = OverlayDisk.create(base, List.of(), dir.resolve("sandbox-disk"), 1 << 20)) {
            blk = new VirtioBlk(overlay);
            transport = new MmioTransport(blk, memory, irqs::incrementAndGet);
            driver = new MmioDriver(transport);
            start();
            DriverQueue.Buffer status = queue.writable(1);
            queue.add(queue.readable(header(VirtioBlk.T_OUT, 0, 3)), queue.readable(fill(512, 7)), status);
            DriverQueue.Buffer data = queue.writable(4096);
            DriverQueue.Buffer status2 = queue.writable(1);
            queue.add(queue.readable(header(VirtioBlk.T_IN, 0, 0)), data, status2);
            DriverQueue.Buffer status3 = queue.writable(1);
            queue.add(queue.readable(header(VirtioBlk.T_FLUSH, 0, 0)), status3);
            driver.notifyQueue(0);

            assertEquals(List.of(0, 0, 0), List.of(memory.readU8(status.address()), memory.readU8(status2.address()),
                    memory.readU8(status3.address())));
            byte[] expected = Arrays.copyOf(baseBytes, 4096);
            Arrays.fill(expected, 3 * 512, 4 * 512, (byte) 7);
            assertArrayEquals(expected, memory.read(data.address(), 4096));
            assertArrayEquals(baseBytes, Files.readAllBytes(base));
            assertEquals(1, overlay.sync().top().blocks());
        }
    }

    private static byte[] header(int type, int reserved, long sector) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(type).putInt(reserved).putLong(sector)
                .array();
    }

    private static byte[] le64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    private static byte[] le32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }

    private static byte[] fill(int length, int value) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) value);
        return bytes;
    }

    private static byte[] noise(int length) {
        byte[] bytes = new byte[length];
        new Random(7).nextBytes(bytes);
        return bytes;
    }
}
