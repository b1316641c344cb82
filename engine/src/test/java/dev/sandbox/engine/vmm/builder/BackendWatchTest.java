package dev.sandbox.engine.vmm.builder;

import dev.sandbox.engine.vmm.devices.virtio.DriverQueue;
import dev.sandbox.engine.vmm.devices.virtio.MmioDriver;
import dev.sandbox.engine.vmm.devices.virtio.MmioTransport;
import dev.sandbox.engine.vmm.devices.virtio.VirtioFeatures;
import dev.sandbox.engine.vmm.devices.virtio.net.MacAddress;
import dev.sandbox.engine.vmm.devices.virtio.net.NetBackend;
import dev.sandbox.engine.vmm.devices.virtio.net.NetFeatures;
import dev.sandbox.engine.vmm.devices.virtio.net.NetHeader;
import dev.sandbox.engine.vmm.devices.virtio.net.VirtioNet;
import dev.sandbox.engine.vmm.memory.GuestMemory;
import dev.sandbox.ffi.EventFd;
import dev.sandbox.ffi.Pollable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The NIC's backend watch with an eventfd standing in for the TAP: an eventfd with a non-zero count polls readable
 * until it is read, as a TAP does while a packet waits.
 */
class BackendWatchTest {
    private static final int HDR = NetHeader.SIZE;
    /** What a spinning loop would exceed many times over in the time we watch it. */
    private static final int FEW = 5;

    private final EventFd tap = EventFd.create(true);
    private BackendWatch watch;

    @AfterEach
    void release() throws InterruptedException {
        if (watch != null) {
            watch.close();
        }
        tap.close();
    }

    @Test
    void aDeviceThatStoppedReadingIsNotPolledAgainUntilRearmed() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        watch = new BackendWatch("watch-test", tap, () -> {
            calls.incrementAndGet();
            return false; // a packet waits for a guest buffer: the TAP stays readable
        });
        tap.write(1);
        watch.start();
        awaitValue(calls, 1);
        Thread.sleep(300);
        assertEquals(1, calls.get(), "not called again while disarmed");
        assertTrue(watch.wakeups() <= FEW, "the thread sleeps, it does not spin: " + watch.wakeups() + " wakeups");

        watch.rearm(); // the guest posted buffers
        awaitValue(calls, 2);
        Thread.sleep(200);
        assertEquals(2, calls.get(), "one call per re-arm while the device still cannot take the packet");
        assertTrue(watch.wakeups() <= 2 * FEW, watch.wakeups() + " wakeups");
    }

    @Test
    void aDeviceThatDrainsTheBackendIsCalledForEachArrival() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        watch = new BackendWatch("watch-test", tap, () -> {
            calls.incrementAndGet();
            tap.read(); // drained
            return true;
        });
        watch.start();
        for (int i = 1; i <= 3; i++) {
            tap.write(1);
            awaitValue(calls, i);
        }
        Thread.sleep(100);
        assertEquals(3, calls.get());
    }

    @Test
    void aDeviceThatThrowsIsTreatedAsStoppedNotCalledInALoop() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        watch = new BackendWatch("watch-test", tap, () -> {
            calls.incrementAndGet();
            throw new IllegalStateException("broken device");
        });
        tap.write(1);
        watch.start();
        awaitValue(calls, 1);
        Thread.sleep(200);
        assertEquals(1, calls.get());
    }

    @Test
    void closeStopsTheThreadAndStartRunsANewOneThatWatchesAtOnce() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        watch = new BackendWatch("watch-restart-" + ProcessHandle.current().pid(), tap, () -> {
            calls.incrementAndGet();
            return false;
        });
        watch.start();
        watch.start(); // already running: nothing
        assertEquals(1, threadsNamed("watch-restart-"));
        watch.close();
        assertEquals(0, threadsNamed("watch-restart-"), "stopped, as for a snapshot");
        watch.rearm(); // a device signalling while stopped: ignored
        watch.close(); // twice: nothing

        tap.write(1); // a packet arrived while stopped
        watch.start(); // revived
        awaitValue(calls, 1);
        assertEquals(1, threadsNamed("watch-restart-"));
        watch.close();
        assertEquals(0, threadsNamed("watch-restart-"));
    }

    /**
     * The whole loop with a real device: a packet for a guest without buffers is staged, the watch stops polling the
     * still-readable backend, and the guest's next buffers bring both the waiting packet and the watch back.
     */
    @Test
    void theDeviceStopsAndResumesTheWatchWithoutSpinning() throws Exception {
        GuestMemory memory = GuestMemory.wrap(MemorySegment.ofArray(new byte[4 << 20]));
        FdBackend backend = new FdBackend(tap);
        VirtioNet net = new VirtioNet(MacAddress.parse("02:fc:00:00:00:15"), backend);
        MmioTransport transport = new MmioTransport(net, memory, () -> { });
        MmioDriver driver = new MmioDriver(transport);
        DriverQueue rx = new DriverQueue(memory, 16, 0x1_0000, 0x10_0000);
        DriverQueue tx = new DriverQueue(memory, 16, 0x20_0000, 0x10_0000);
        AtomicInteger calls = new AtomicInteger();
        BooleanSupplier counted = () -> {
            calls.incrementAndGet();
            return net.backendReadable();
        };
        watch = new BackendWatch("watch-test", tap, counted);
        net.onRxResumed(watch::rearm);
        watch.start();
        driver.start(VirtioFeatures.VERSION_1 | NetFeatures.MAC | NetFeatures.STATUS, List.of(rx, tx));

        backend.arrive(packet(60));
        awaitValue(calls, 1);
        Thread.sleep(300);
        assertEquals(1, calls.get(), "the staged packet does not make the watch spin");
        assertTrue(watch.wakeups() <= FEW, watch.wakeups() + " wakeups");
        assertTrue(backend.readable(), "the backend still polls readable");

        int first = rx.add(rx.writable(HDR + 1514));
        int second = rx.add(rx.writable(HDR + 1514));
        driver.notifyQueue(VirtioNet.RX_QUEUE); // the guest posts buffers: the waiting packet goes in, watch re-armed
        assertEquals(first, awaitUsed(rx).id());

        backend.arrive(packet(70)); // only the re-armed watch can deliver this one: the guest does not notify
        DriverQueue.Used used = awaitUsed(rx);
        assertEquals(new DriverQueue.Used(second, HDR + 70), used);
        assertEquals(2, net.metrics().rxFrames());
    }

    private static byte[] packet(int frameLength) {
        return new byte[HDR + frameLength];
    }

    private static DriverQueue.Used awaitUsed(DriverQueue queue) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            DriverQueue.Used used = queue.nextUsed();
            if (used != null) {
                return used;
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no used buffer in 5 s");
    }

    private static void awaitValue(AtomicInteger counter, int value) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (counter.get() < value && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertEquals(value, counter.get());
    }

    private static long threadsNamed(String prefix) throws InterruptedException {
        Thread.sleep(20); // a thread that was just told to stop may take a moment to end
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith(prefix)).count();
    }

    /**
     * A backend that polls readable like a TAP: its eventfd is non-zero from an arrival until a read finds nothing
     * more. Unlike a TAP it keeps the eventfd readable after the last packet was taken, until the next receive
     * finds none, which is the harder case for the watch (readable, nothing the device can do).
     */
    private static final class FdBackend implements NetBackend {
        private final EventFd ready;
        private final ConcurrentLinkedQueue<byte[]> packets = new ConcurrentLinkedQueue<>();

        FdBackend(EventFd ready) {
            this.ready = ready;
        }

        void arrive(byte[] packet) {
            packets.add(packet);
            ready.write(1);
        }

        boolean readable() {
            long count = ready.read();
            if (count > 0) {
                ready.write(count);
            }
            return count > 0;
        }

        @Override
        public int receive(MemorySegment buffer) {
            byte[] packet = packets.poll();
            if (packet == null) {
                ready.read();
                if (!packets.isEmpty()) {
                    ready.write(1); // one arrived meanwhile
                }
                return -1;
            }
            MemorySegment.copy(packet, 0, buffer, ValueLayout.JAVA_BYTE, 0, packet.length);
            return packet.length;
        }

        @Override
        public boolean send(MemorySegment packet) {
            return true;
        }

        @Override
        public Optional<Pollable> readiness() {
            return Optional.of(ready);
        }
    }
}
