package dev.sandbox.engine.vmm.devices.virtio.net;

import dev.sandbox.engine.vmm.devices.virtio.DescriptorChain;
import dev.sandbox.engine.vmm.devices.virtio.Queue;
import dev.sandbox.engine.vmm.devices.virtio.VirtioDevice;
import dev.sandbox.engine.vmm.devices.virtio.VirtioFeatures;
import dev.sandbox.engine.vmm.devices.virtio.VirtioInterrupt;
import dev.sandbox.engine.vmm.devices.virtio.VirtqueueException;
import dev.sandbox.engine.vmm.memory.GuestMemory;
import dev.sandbox.engine.vmm.memory.GuestMemoryException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The virtio-net device (id 1): queues RX 0 and TX 1, configuration space {@code u8 mac[6]; le16 status}.
 *
 * <p>Packets are a {@link NetHeader} and a frame both ways. No offload is offered yet, so the device checks that the
 * guest's header asks for none (else the packet is malformed) and hands the backend a plain header; for the guest
 * it refuses packets that need an offload and writes a plain header with {@code num_buffers = 1}. Without
 * MRG_RXBUF a packet must fit one receive chain; one that does not is dropped and the chain returned empty.
 *
 * <p>Bounds: a packet is at most {@link #MAX_PACKET} bytes, copied through one staging buffer per direction
 * allocated with the device, so a guest chain never makes the device allocate. A chain that breaks the virtqueue
 * rules (loops, buffers outside memory) stops the device with DEVICE_NEEDS_RESET; a packet that is merely wrong is
 * returned used with length 0 and counted, and the device goes on.
 *
 * <p>Threads: every method takes the device's lock. TX runs on whichever thread delivers the notification; RX runs
 * when the guest posts buffers and when the host side calls {@link #backendReadable()}. A packet read from the
 * backend while the guest has no buffer waits in the RX staging buffer (one at most), so the backend is not read
 * further until the guest catches up.
 *
 * <p>Watching the backend: whoever polls the backend's descriptor calls {@link #backendReadable()}, which answers
 * false when the device stopped reading (a packet waits for a guest buffer, or the driver is not running the device):
 * the backend then stays readable, and polling it on would spin. The watcher stops polling it until the device runs
 * the listener given to {@link #onRxResumed} (the guest posted buffers and the waiting packet went in, or the driver
 * activated the device again).
 *
 * <p>Snapshots: the device keeps nothing a restore needs beyond its constructor arguments, which the builder gives
 * every VM alike (the MAC is the fixed guest MAC of every sandbox); the transport's state has the queues and is
 * validated on restore like any device's. A packet waiting for a guest buffer is lost with a snapshot, like any
 * packet in flight; after a restore the watcher starts watching and the kicked RX queue resumes reading.
 */
public final class VirtioNet implements VirtioDevice {
    public static final int DEVICE_TYPE = 1;
    public static final int RX_QUEUE = 0;
    public static final int TX_QUEUE = 1;
    static final int QUEUE_SIZE = 256;
    /** Largest frame either way: a 64 KiB IP packet plus Ethernet and VLAN headers (Firecracker's bound too). */
    public static final int MAX_FRAME = 65_550;
    public static final int MAX_PACKET = NetHeader.SIZE + MAX_FRAME;
    static final int CONFIG_STATUS = 6;
    static final int CONFIG_SIZE = 8;
    static final int STATUS_LINK_UP = 1;

    private static final System.Logger LOG = System.getLogger(VirtioNet.class.getName());

    private final MacAddress mac;
    private final NetBackend backend;
    private final MemorySegment txBuffer;
    private final MemorySegment rxBuffer;
    /** Length of the packet in rxBuffer waiting for a guest buffer; 0 when there is none. */
    private int rxPending;
    private GuestMemory memory;
    private Queue rx;
    private Queue tx;
    private VirtioInterrupt interrupt;
    private boolean failed;
    private boolean backendFailureLogged;
    /** backendReadable() answered false: the watcher waits for {@link #rxResumed}. */
    private boolean rxStopped;
    private Runnable rxResumed = () -> {
    };
    private long txFrames;
    private long txBytes;
    private long txDropped;
    private long txMalformed;
    private long rxFrames;
    private long rxBytes;
    private long rxDropped;
    private long rxBadBuffers;

    public VirtioNet(MacAddress mac, NetBackend backend) {
        this.mac = mac;
        this.backend = backend;
        // Native, so a TAP backend reads and writes them directly; freed with the device.
        Arena arena = Arena.ofAuto();
        this.txBuffer = arena.allocate(MAX_PACKET);
        this.rxBuffer = arena.allocate(MAX_PACKET);
    }

    /**
     * Sets what the device runs when it reads from the backend again after {@link #backendReadable()} answered false.
     * It runs with the device's lock held, on a vCPU or device thread, so it must only signal (write an eventfd).
     */
    public synchronized void onRxResumed(Runnable listener) {
        this.rxResumed = listener;
    }

    public MacAddress mac() {
        return mac;
    }

    public synchronized NetMetrics metrics() {
        return new NetMetrics(txFrames, txBytes, txDropped, txMalformed, rxFrames, rxBytes, rxDropped, rxBadBuffers);
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public long features() {
        return VirtioFeatures.VERSION_1 | NetFeatures.MAC | NetFeatures.STATUS;
    }

    @Override
    public List<Integer> queueMaxSizes() {
        return List.of(QUEUE_SIZE, QUEUE_SIZE);
    }

    @Override
    public void readConfig(long offset, byte[] data) {
        for (int i = 0; i < data.length; i++) {
            long at = offset + i;
            data[i] = (byte) (at >= 0 && at < MacAddress.SIZE ? mac.octet((int) at)
                    : at == CONFIG_STATUS ? STATUS_LINK_UP : 0);
        }
    }

    @Override
    public void writeConfig(long offset, byte[] data) {
        // mac and status are read-only for a VERSION_1 driver
    }

    @Override
    public synchronized void activate(GuestMemory memory, List<Queue> queues, long ackedFeatures,
                                      VirtioInterrupt interrupt) {
        this.memory = memory;
        this.rx = queues.get(RX_QUEUE);
        this.tx = queues.get(TX_QUEUE);
        this.interrupt = interrupt;
        this.failed = false;
        resumeRx();
    }

    @Override
    public synchronized void queueNotify(int index) {
        if (!active()) {
            return;
        }
        try {
            if (index == TX_QUEUE) {
                processTx();
            } else {
                processRx(); // the guest posted receive buffers: a waiting packet may fit now
                resumeRx();
            }
        } catch (VirtqueueException | GuestMemoryException e) {
            fail(e);
        }
    }

    /**
     * The backend has packets for the guest (its descriptor polled readable); called on the thread that watches it.
     * Returns whether to go on watching: false when the device stopped reading (a packet waits for a guest buffer,
     * or the device is not active), until the {@link #onRxResumed} listener runs.
     */
    public synchronized boolean backendReadable() {
        if (active()) {
            try {
                processRx();
            } catch (VirtqueueException | GuestMemoryException e) {
                fail(e);
            }
        }
        rxStopped = !active() || rxPending > 0;
        return !rxStopped;
    }

    /** Tells the watcher to poll the backend again once the device can take packets after having stopped. */
    private void resumeRx() {
        if (rxStopped && active() && rxPending == 0) {
            rxStopped = false;
            rxResumed.run();
        }
    }

    @Override
    public synchronized void reset() {
        memory = null;
        rx = null;
        tx = null;
        interrupt = null;
        failed = false;
        rxPending = 0;
    }

    private boolean active() {
        return memory != null && !failed;
    }

    private void fail(RuntimeException e) {
        failed = true;
        rxPending = 0;
        interrupt.needsReset("virtio-net: " + e.getMessage());
    }

    private void processTx() {
        boolean used = false;
        for (DescriptorChain chain = tx.pop(memory); chain != null; chain = tx.pop(memory)) {
            transmit(chain);
            tx.addUsed(memory, chain.head(), 0);
            used = true;
        }
        if (used && tx.needsInterrupt(memory)) {
            interrupt.usedBuffers();
        }
    }

    private void transmit(DescriptorChain chain) {
        long length = chain.readableLength();
        if (!chain.writable().isEmpty() || length < NetHeader.SIZE || length > MAX_PACKET) {
            txMalformed++;
            return;
        }
        MemorySegment packet = txBuffer.asSlice(0, length);
        chain.read(memory, 0, packet);
        if (NetHeader.read(packet).needsOffload()) {
            txMalformed++;
            return;
        }
        NetHeader.plain(0).write(packet); // nothing else in it may reach the host: no offload was negotiated
        if (send(packet)) {
            txFrames++;
            txBytes += length - NetHeader.SIZE;
        } else {
            txDropped++;
        }
    }

    private void processRx() {
        boolean used = false;
        while (rxPending > 0 || fetch()) {
            DescriptorChain chain = rx.pop(memory);
            if (chain == null) {
                break; // the packet waits for the guest's next buffers
            }
            used = true;
            if (!chain.readable().isEmpty()) {
                rxBadBuffers++;
                rx.addUsed(memory, chain.head(), 0);
            } else if (chain.writableLength() < rxPending) {
                rxDropped++;
                rxPending = 0;
                rx.addUsed(memory, chain.head(), 0);
            } else {
                chain.write(memory, 0, rxBuffer.asSlice(0, rxPending));
                rx.addUsed(memory, chain.head(), rxPending);
                rxFrames++;
                rxBytes += rxPending - NetHeader.SIZE;
                rxPending = 0;
            }
        }
        if (used && rx.needsInterrupt(memory)) {
            interrupt.usedBuffers();
        }
    }

    /**
     * Reads backend packets until one the guest can take is staged; false when the backend has none, or after a
     * queue's worth of unusable ones (the rest wait for the next call, so a flood cannot hold the lock forever).
     */
    private boolean fetch() {
        for (int tries = 0; tries < QUEUE_SIZE; tries++) {
            int length = receive();
            if (length <= 0) {
                return false;
            }
            if (length < NetHeader.SIZE || length > MAX_PACKET || NetHeader.read(rxBuffer).needsOffload()) {
                rxDropped++;
                continue;
            }
            // Without GUEST_CSUM the flags must be 0 (virtio 1.2, 5.1.6.4.1); without MRG_RXBUF one buffer.
            NetHeader.plain(1).write(rxBuffer);
            rxPending = length;
            return true;
        }
        return false;
    }

    private int receive() {
        try {
            return backend.receive(rxBuffer);
        } catch (RuntimeException e) {
            backendFailed("receive", e);
            return -1;
        }
    }

    private boolean send(MemorySegment packet) {
        try {
            return backend.send(packet);
        } catch (RuntimeException e) {
            backendFailed("send", e);
            return false;
        }
    }

    // The backend broke its contract; the guest must not pay with a crashed vCPU, so it becomes a drop.
    private void backendFailed(String what, RuntimeException e) {
        if (!backendFailureLogged) {
            backendFailureLogged = true;
            LOG.log(System.Logger.Level.WARNING, "virtio-net backend " + what + " failed; counted as a drop", e);
        }
    }
}
