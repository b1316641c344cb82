package dev.sandbox.engine.vmm.devices.virtio.net;

import dev.sandbox.engine.vmm.devices.virtio.DriverQueue;
import dev.sandbox.engine.vmm.devices.virtio.MmioDriver;
import dev.sandbox.engine.vmm.devices.virtio.MmioTransport;
import dev.sandbox.engine.vmm.devices.virtio.Queue;
import dev.sandbox.engine.vmm.devices.virtio.VirtioFeatures;
import dev.sandbox.engine.vmm.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VirtioNetTest {
    private static final MacAddress MAC = MacAddress.parse("02:fc:00:00:00:05");
    private static final long FEATURES = VirtioFeatures.VERSION_1 | NetFeatures.MAC | NetFeatures.STATUS;
    private static final int HDR = NetHeader.SIZE;

    private final GuestMemory memory = GuestMemory.wrap(MemorySegment.ofArray(new byte[4 << 20]));
    private final MemoryBackend backend = new MemoryBackend();
    private final VirtioNet net = new VirtioNet(MAC, backend);
    private final AtomicInteger irqs = new AtomicInteger();
    private final MmioTransport transport = new MmioTransport(net, memory, irqs::incrementAndGet);
    private final MmioDriver driver = new MmioDriver(transport);
    private final DriverQueue rx = new DriverQueue(memory, 16, 0x1_0000, 0x10_0000);
    private final DriverQueue tx = new DriverQueue(memory, 16, 0x20_0000, 0x10_0000);

    private void start() {
        driver.start(FEATURES, List.of(rx, tx));
    }

    @Test
    void offersVersion1MacAndStatusOnly() {
        assertEquals(FEATURES, driver.deviceFeatures());
        assertFalse(driver.negotiate(FEATURES | NetFeatures.CSUM), "checksum offload is not offered");
        assertFalse(driver.negotiate(FEATURES | NetFeatures.MRG_RXBUF), "merged buffers are not offered");
        assertTrue(driver.negotiate(VirtioFeatures.VERSION_1 | NetFeatures.MAC));
    }

    @Test
    void configSpaceHasTheMacAndLinkUp() {
        assertArrayEquals(new byte[] {2, (byte) 0xfc, 0, 0, 0, 5}, driver.readConfig(0, 6));
        assertEquals((byte) 0xfc, driver.readConfig(1, 1)[0], "byte-wise, as Linux reads it");
        assertArrayEquals(new byte[] {VirtioNet.STATUS_LINK_UP, 0}, driver.readConfig(VirtioNet.CONFIG_STATUS, 2));
        assertArrayEquals(new byte[4], driver.readConfig(VirtioNet.CONFIG_SIZE, 4), "nothing past status");
        assertEquals("02:fc:00:00:00:05", MAC.toString());
    }

    @Test
    void transmitsAFrameWithAPlainHeader() {
        start();
        byte[] frame = frame(100, 1);
        // The guest's header may carry stale fields (hdr_len, num_buffers): the backend gets a plain one.
        byte[] header = header(NetHeader.F_DATA_VALID, NetHeader.GSO_NONE, 54, 7);
        int head = tx.add(tx.readable(header), tx.readable(Arrays.copyOf(frame, 40)),
                tx.readable(Arrays.copyOfRange(frame, 40, 100)));
        driver.notifyQueue(VirtioNet.TX_QUEUE);

        assertEquals(new DriverQueue.Used(head, 0), tx.nextUsed());
        assertEquals(1, backend.fromGuest.size());
        assertArrayEquals(concat(new byte[HDR], frame), backend.fromGuest.getFirst());
        assertEquals(1, irqs.get());
        assertEquals(new NetMetrics(1, 100, 0, 0, 0, 0, 0, 0), net.metrics());
    }

    @Test
    void deliversAPacketIntoAPostedBufferWithNumBuffersOne() {
        start();
        byte[] frame = frame(60, 2);
        backend.toGuest.add(concat(header(NetHeader.F_DATA_VALID, NetHeader.GSO_NONE, 0, 0), frame));
        DriverQueue.Buffer hdrBuffer = rx.writable(HDR);
        DriverQueue.Buffer frameBuffer = rx.writable(1514);
        int head = rx.add(hdrBuffer, frameBuffer);
        driver.notifyQueue(VirtioNet.RX_QUEUE);

        assertEquals(new DriverQueue.Used(head, HDR + 60), rx.nextUsed());
        // No GUEST_CSUM: flags must be 0; no MRG_RXBUF: num_buffers is 1.
        assertArrayEquals(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, memory.read(hdrBuffer.address(), HDR));
        assertArrayEquals(frame, memory.read(frameBuffer.address(), 60));
        assertEquals(1, irqs.get());
        assertEquals(new NetMetrics(0, 0, 0, 0, 1, 60, 0, 0), net.metrics());
    }

    @Test
    void aPacketWaitsForTheGuestsNextBuffer() {
        start();
        byte[] frame = frame(80, 3);
        backend.toGuest.add(concat(new byte[HDR], frame));
        net.backendReadable();
        assertNull(rx.nextUsed(), "no buffer posted yet");
        assertEquals(0, irqs.get());

        DriverQueue.Buffer buffer = rx.writable(HDR + 1514);
        int head = rx.add(buffer);
        driver.notifyQueue(VirtioNet.RX_QUEUE);
        assertEquals(new DriverQueue.Used(head, HDR + 80), rx.nextUsed());
        assertArrayEquals(frame, memory.read(buffer.address() + HDR, 80));
    }

    @Test
    void aPacketThatDoesNotFitIsDroppedAndTheNextOneDelivered() {
        start();
        int small = rx.add(rx.writable(HDR + 64));
        int large = rx.add(rx.writable(HDR + 1514));
        backend.toGuest.add(concat(new byte[HDR], frame(200, 4)));
        backend.toGuest.add(concat(new byte[HDR], frame(50, 5)));
        net.backendReadable();

        assertEquals(new DriverQueue.Used(small, 0), rx.nextUsed(), "returned empty");
        assertEquals(new DriverQueue.Used(large, HDR + 50), rx.nextUsed());
        assertEquals(new NetMetrics(0, 0, 0, 0, 1, 50, 1, 0), net.metrics());
        assertFalse(driver.needsReset());
    }

    @Test
    void packetsNeedingAnOffloadTheGuestLacksAreDropped() {
        start();
        int head = rx.add(rx.writable(HDR + 1514));
        backend.toGuest.add(concat(header(NetHeader.F_NEEDS_CSUM, NetHeader.GSO_NONE, 0, 0), frame(60, 6)));
        backend.toGuest.add(concat(header(0, 1 /* TCPV4 */, 54, 1448), frame(60, 7)));
        backend.toGuest.add(new byte[HDR - 1]); // shorter than a header
        backend.toGuest.add(concat(new byte[HDR], frame(60, 8)));
        net.backendReadable();

        assertEquals(new DriverQueue.Used(head, HDR + 60), rx.nextUsed());
        assertEquals(3, net.metrics().rxDropped());
        assertEquals(1, net.metrics().rxFrames());
    }

    @Test
    void receiveBuffersWithReadablePartsAreReturnedUnused() {
        start();
        int bad = rx.add(rx.readable(new byte[HDR]), rx.writable(1514));
        int good = rx.add(rx.writable(HDR + 1514));
        backend.toGuest.add(concat(new byte[HDR], frame(60, 9)));
        net.backendReadable();

        assertEquals(new DriverQueue.Used(bad, 0), rx.nextUsed());
        assertEquals(new DriverQueue.Used(good, HDR + 60), rx.nextUsed());
        assertEquals(new NetMetrics(0, 0, 0, 0, 1, 60, 0, 1), net.metrics());
    }

    @Test
    void malformedTransmitChainsAreReturnedEmptyAndTheDeviceGoesOn() {
        start();
        byte[] good = concat(new byte[HDR], frame(60, 10));
        int writable = tx.add(tx.readable(good), tx.writable(16));
        int tooLong = tx.add(tx.readable(new byte[HDR + VirtioNet.MAX_FRAME]), tx.readable(new byte[1]));
        int tooShort = tx.add(tx.readable(new byte[HDR - 1]));
        int gso = tx.add(tx.readable(concat(header(0, 1 /* TCPV4 */, 54, 1448), frame(60, 11))));
        int csum = tx.add(tx.readable(concat(header(NetHeader.F_NEEDS_CSUM, 0, 0, 0), frame(60, 12))));
        int fine = tx.add(tx.readable(good));
        driver.notifyQueue(VirtioNet.TX_QUEUE);

        for (int head : new int[] {writable, tooLong, tooShort, gso, csum, fine}) {
            assertEquals(new DriverQueue.Used(head, 0), tx.nextUsed());
        }
        assertEquals(1, backend.fromGuest.size(), "only the good packet went out");
        assertArrayEquals(good, backend.fromGuest.getFirst());
        assertEquals(new NetMetrics(1, 60, 0, 5, 0, 0, 0, 0), net.metrics());
        assertFalse(driver.needsReset());
    }

    @Test
    void theLargestFrameStillGoesOut() {
        start();
        tx.add(tx.readable(new byte[HDR]), tx.readable(new byte[VirtioNet.MAX_FRAME]));
        driver.notifyQueue(VirtioNet.TX_QUEUE);
        assertEquals(VirtioNet.MAX_PACKET, backend.fromGuest.getFirst().length);
    }

    @Test
    void aBufferWhoseLengthWrapsStopsTheDeviceWithoutThrowing() {
        start();
        tx.descriptor(0, 0xffff_ffff_ffff_f000L, 0x2000, 0, 0); // address + length overflows 64 bits
        tx.publish(0);
        driver.notifyQueue(VirtioNet.TX_QUEUE);

        assertTrue(driver.needsReset());
        assertTrue(transport.failure().contains("outside guest memory"), transport.failure());
        assertTrue(backend.fromGuest.isEmpty());
    }

    @Test
    void aLoopingChainStopsTheDeviceWithoutThrowing() {
        start();
        tx.descriptor(0, tx.readable(new byte[HDR]).address(), HDR, 1 /* NEXT */, 1);
        tx.descriptor(1, tx.readable(new byte[60]).address(), 60, 1 /* NEXT */, 0);
        tx.publish(0);
        driver.notifyQueue(VirtioNet.TX_QUEUE);

        assertTrue(driver.needsReset());
        assertTrue(transport.failure().contains("loop"), transport.failure());
        net.backendReadable(); // a failed device ignores the host side too
        assertTrue(backend.fromGuest.isEmpty());
    }

    @Test
    void aBackendThatRefusesOrThrowsCostsADropNotTheVcpu() {
        start();
        backend.refuse = true;
        tx.add(tx.readable(concat(new byte[HDR], frame(60, 13))));
        driver.notifyQueue(VirtioNet.TX_QUEUE);
        backend.refuse = false;
        backend.failure = new IllegalStateException("tap gone");
        tx.add(tx.readable(concat(new byte[HDR], frame(60, 14))));
        driver.notifyQueue(VirtioNet.TX_QUEUE);

        assertEquals(2, net.metrics().txDropped());
        assertEquals(0, tx.nextUsed().length());
        assertEquals(0, tx.nextUsed().length());
        assertFalse(driver.needsReset());
    }

    @Test
    void aResetDropsTheWaitingPacketAndStopsReading() {
        start();
        backend.toGuest.add(concat(new byte[HDR], frame(60, 15)));
        net.backendReadable(); // staged, no buffer yet
        driver.write(0x070 /* STATUS */, 0);
        byte[] second = frame(60, 16);
        backend.toGuest.add(concat(new byte[HDR], second));
        net.backendReadable();
        assertEquals(1, backend.toGuest.size(), "an inactive device leaves packets in the backend");

        DriverQueue rx2 = new DriverQueue(memory, 16, 0x34_0000, 0x1_0000);
        DriverQueue tx2 = new DriverQueue(memory, 16, 0x36_0000, 0x1_0000);
        driver.start(FEATURES, List.of(rx2, tx2));
        DriverQueue.Buffer buffer = rx2.writable(HDR + 1514);
        int head = rx2.add(buffer);
        driver.notifyQueue(VirtioNet.RX_QUEUE);
        assertEquals(new DriverQueue.Used(head, HDR + 60), rx2.nextUsed());
        assertArrayEquals(second, memory.read(buffer.address() + HDR, 60), "the staged packet went with the reset");
    }

    @Test
    void backendReadableSaysWhenToStopWatchingAndTheDeviceSaysWhenToResume() {
        AtomicInteger resumed = new AtomicInteger();
        net.onRxResumed(resumed::incrementAndGet);
        backend.toGuest.add(concat(new byte[HDR], frame(60, 17)));
        assertFalse(net.backendReadable(), "not active: stop watching");
        assertEquals(1, backend.toGuest.size(), "nothing read");
        start();
        assertEquals(1, resumed.get(), "activation resumes the watch");

        assertFalse(net.backendReadable(), "the packet waits for a guest buffer: stop watching");
        assertTrue(backend.toGuest.isEmpty());
        assertFalse(net.backendReadable(), "still waiting");
        driver.notifyQueue(VirtioNet.RX_QUEUE); // a kick without a new buffer
        assertEquals(1, resumed.get(), "no buffer, no resume");

        DriverQueue.Buffer first = rx.writable(HDR + 1514);
        int head = rx.add(first);
        driver.notifyQueue(VirtioNet.RX_QUEUE);
        assertEquals(new DriverQueue.Used(head, HDR + 60), rx.nextUsed());
        assertEquals(2, resumed.get(), "the waiting packet went in: watch again");

        assertTrue(net.backendReadable(), "a drained backend: go on watching");
        rx.add(rx.writable(HDR + 1514));
        driver.notifyQueue(VirtioNet.RX_QUEUE);
        assertEquals(2, resumed.get(), "the watch never stopped, so nothing to resume");
    }

    @Test
    void aFailedDeviceStopsTheWatchUntilTheDriverResetsIt() {
        AtomicInteger resumed = new AtomicInteger();
        net.onRxResumed(resumed::incrementAndGet);
        start();
        tx.descriptor(0, 0xffff_ffff_ffff_f000L, 0x2000, 0, 0);
        tx.publish(0);
        driver.notifyQueue(VirtioNet.TX_QUEUE);
        assertTrue(driver.needsReset());
        backend.toGuest.add(concat(new byte[HDR], frame(60, 18)));
        assertFalse(net.backendReadable());
        driver.write(0x070 /* STATUS */, 0);
        assertEquals(0, resumed.get());
        driver.start(FEATURES, List.of(new DriverQueue(memory, 16, 0x34_0000, 0x1_0000),
                new DriverQueue(memory, 16, 0x36_0000, 0x1_0000)));
        assertEquals(1, resumed.get(), "working again after the reset");
    }

    @Test
    void aSavedTransportRestoresIntoANewDeviceThatGoesOnWhereTheOldStopped() {
        start();
        DriverQueue.Buffer first = rx.writable(HDR + 1514);
        DriverQueue.Buffer second = rx.writable(HDR + 1514);
        int firstHead = rx.add(first);
        int secondHead = rx.add(second);
        driver.notifyQueue(VirtioNet.RX_QUEUE);
        backend.toGuest.add(concat(new byte[HDR], frame(60, 19)));
        net.backendReadable();
        assertEquals(new DriverQueue.Used(firstHead, HDR + 60), rx.nextUsed());
        MmioTransport.State saved = transport.state();

        MemoryBackend after = new MemoryBackend();
        VirtioNet restored = new VirtioNet(MAC, after);
        MmioTransport again = new MmioTransport(restored, memory, irqs::incrementAndGet);
        again.restore(saved);
        byte[] frame = frame(70, 20);
        after.toGuest.add(concat(new byte[HDR], frame));
        assertTrue(restored.backendReadable());
        assertEquals(new DriverQueue.Used(secondHead, HDR + 70), rx.nextUsed(), "the buffer posted before");
        assertArrayEquals(frame, memory.read(second.address() + HDR, 70));

        tx.add(tx.readable(concat(new byte[HDR], frame(60, 21))));
        new MmioDriver(again).notifyQueue(VirtioNet.TX_QUEUE);
        assertEquals(1, after.fromGuest.size(), "TX works on the restored queues too");
    }

    @Test
    void aDamagedOrForeignSavedStateIsRefused() {
        start();
        MmioTransport.State good = transport.state();
        List<Queue.State> queues = new java.util.ArrayList<>(good.queues());
        Queue.State q = queues.getFirst();
        queues.set(0, new Queue.State(q.size(), q.ready(), 0xffff_ffff_0000L, q.availableRing(), q.usedRing(),
                q.nextAvailable(), q.nextUsed()));
        MmioTransport.State outside = withQueues(good, queues);
        MmioTransport.State vsockLike = withQueues(good, List.of(q, q, q));
        MmioTransport.State oddSize = withQueues(good, List.of(new Queue.State(3, true, q.descriptorTable(),
                q.availableRing(), q.usedRing(), 0, 0), good.queues().get(1)));
        for (MmioTransport.State bad : List.of(outside, vsockLike, oddSize)) {
            MmioTransport fresh = new MmioTransport(new VirtioNet(MAC, new MemoryBackend()), memory, () -> { });
            assertThrows(IllegalArgumentException.class, () -> fresh.restore(bad), bad.toString());
        }
    }

    private static MmioTransport.State withQueues(MmioTransport.State s, List<Queue.State> queues) {
        return new MmioTransport.State(s.status(), s.driverFeatures(), s.deviceFeaturesSel(), s.driverFeaturesSel(),
                s.queueSel(), s.interruptStatus(), s.configGeneration(), s.needsReset(), queues);
    }

    private static byte[] frame(int length, int seed) {
        byte[] frame = new byte[length];
        for (int i = 0; i < length; i++) {
            frame[i] = (byte) (seed * 31 + i);
        }
        return frame;
    }

    private static byte[] header(int flags, int gsoType, int hdrLen, int extra) {
        byte[] header = new byte[HDR];
        header[0] = (byte) flags;
        header[1] = (byte) gsoType;
        header[2] = (byte) hdrLen;
        header[4] = (byte) extra;
        header[10] = (byte) extra;
        return header;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] both = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }
}
