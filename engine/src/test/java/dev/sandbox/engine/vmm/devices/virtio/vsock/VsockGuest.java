package dev.sandbox.engine.vmm.devices.virtio.vsock;

import dev.sandbox.engine.vmm.devices.virtio.DriverQueue;
import dev.sandbox.engine.vmm.devices.virtio.MmioDriver;
import dev.sandbox.engine.vmm.devices.virtio.MmioTransport;
import dev.sandbox.engine.vmm.memory.GuestMemory;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A fake guest vsock driver: brings the device up through the MMIO transport, posts RX buffers, sends packets on TX
 * and decodes what the device returns. Guest-side calls come from the test thread; the device runs RX work inline.
 */
final class VsockGuest {
    static final long CID = 3;
    static final int RX_BUFFER = VsockHeader.SIZE + 4096;

    /** A packet the device delivered to the guest. */
    record Packet(VsockHeader header, byte[] payload) {
        int op() {
            return header.op();
        }
    }

    final GuestMemory memory = GuestMemory.wrap(MemorySegment.ofArray(new byte[32 << 20]));
    final AtomicInteger interrupts = new AtomicInteger();
    VirtioVsock device = new VirtioVsock(CID, Runnable::run);
    MmioTransport transport = new MmioTransport(device, memory, interrupts::incrementAndGet);
    MmioDriver driver = new MmioDriver(transport);
    final DriverQueue rx = new DriverQueue(memory, 256, 0x10_0000, 12 << 20);
    final DriverQueue tx = new DriverQueue(memory, 256, 0x100_0000, 12 << 20);
    final DriverQueue event = new DriverQueue(memory, 16, 0x1d0_0000, 0x1_0000);
    private final Map<Integer, DriverQueue.Buffer> rxBuffers = new HashMap<>();
    private final List<Packet> inbox = new ArrayList<>();
    private final Map<Integer, DriverQueue.Buffer> eventBuffers = new HashMap<>();

    VsockGuest() {
        driver.start(List.of(rx, tx, event));
    }

    /**
     * As a snapshot and restore do with this guest's memory left as it is: a new device and transport get the old
     * ones' saved state ({@code keep}: with the device's connections, else without, as a snapshot from before),
     * and this driver talks to them from now on. Returns the new device.
     */
    synchronized VirtioVsock restoreIntoNewDevice(boolean keep) {
        VsockState state = device.state();
        MmioTransport.State transportState = transport.state();
        device = new VirtioVsock(CID, Runnable::run, VirtioVsock.FIRST_HOST_PORT + 0x1000);
        transport = new MmioTransport(device, memory, interrupts::incrementAndGet);
        transport.restore(transportState);
        if (keep) {
            device.restore(state);
        }
        driver = new MmioDriver(transport);
        return device;
    }

    synchronized void postRx(int count) {
        for (int i = 0; i < count; i++) {
            DriverQueue.Buffer buffer = rx.writable(RX_BUFFER);
            rxBuffers.put(rx.add(buffer), buffer);
        }
        driver.notifyQueue(VirtioVsock.RX_QUEUE);
    }

    synchronized void postEvent() {
        DriverQueue.Buffer buffer = event.writable(8);
        eventBuffers.put(event.add(buffer), buffer);
        driver.notifyQueue(VirtioVsock.EVENT_QUEUE);
    }

    /** The ids of events the device returned. */
    synchronized List<Long> events() {
        List<Long> ids = new ArrayList<>();
        for (DriverQueue.Used used = event.nextUsed(); used != null; used = event.nextUsed()) {
            ids.add(memory.readU32(eventBuffers.get(used.id()).address()));
        }
        return ids;
    }

    synchronized void send(VsockHeader header, byte[] payload) {
        byte[] bytes = new byte[VsockHeader.SIZE + payload.length];
        System.arraycopy(header.encode(), 0, bytes, 0, VsockHeader.SIZE);
        System.arraycopy(payload, 0, bytes, VsockHeader.SIZE, payload.length);
        tx.add(tx.readable(bytes));
        driver.notifyQueue(VirtioVsock.TX_QUEUE);
    }

    /** A packet from this guest's {@code guestPort} to the host's {@code hostPort}, advertising a 256 KiB buffer. */
    static VsockHeader header(int op, int guestPort, int hostPort, int length, int flags, int fwdCnt) {
        return new VsockHeader(CID, VirtioVsock.HOST_CID, guestPort, hostPort, length, VsockHeader.TYPE_STREAM, op,
                flags, 256 * 1024, fwdCnt);
    }

    void send(int op, VsockChannel channel, byte[] payload, int fwdCnt) {
        send(header(op, channel.guestPort(), channel.hostPort(), payload.length, 0, fwdCnt), payload);
    }

    /** Moves delivered packets to the inbox, keeping one RX buffer posted for each consumed. */
    private synchronized void poll() {
        int consumed = 0;
        for (DriverQueue.Used used = rx.nextUsed(); used != null; used = rx.nextUsed()) {
            DriverQueue.Buffer buffer = rxBuffers.remove(used.id());
            byte[] bytes = memory.read(buffer.address(), used.length());
            byte[] payload = new byte[used.length() - VsockHeader.SIZE];
            System.arraycopy(bytes, VsockHeader.SIZE, payload, 0, payload.length);
            inbox.add(new Packet(VsockHeader.decode(bytes), payload));
            consumed++;
        }
        if (consumed > 0) {
            postRx(consumed);
        }
    }

    /** Everything delivered and not yet taken. */
    synchronized List<Packet> drain() {
        poll();
        List<Packet> out = List.copyOf(inbox);
        inbox.clear();
        return out;
    }

    /** Waits (up to 5 s) for a delivered packet that matches and takes it; packets before it are dropped. */
    Packet await(Predicate<Packet> wanted) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            synchronized (this) {
                poll();
                while (!inbox.isEmpty()) {
                    Packet packet = inbox.removeFirst();
                    if (wanted.test(packet)) {
                        return packet;
                    }
                }
            }
            Thread.sleep(1);
        }
        throw new AssertionError("no matching packet from the device");
    }

    Packet await(int op) throws InterruptedException {
        return await(p -> p.op() == op);
    }
}
