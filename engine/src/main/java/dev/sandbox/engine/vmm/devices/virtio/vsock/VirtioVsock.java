package dev.sandbox.engine.vmm.devices.virtio.vsock;

import dev.sandbox.engine.vmm.devices.BusData;
import dev.sandbox.engine.vmm.devices.virtio.DescriptorChain;
import dev.sandbox.engine.vmm.devices.virtio.Queue;
import dev.sandbox.engine.vmm.devices.virtio.VirtioDevice;
import dev.sandbox.engine.vmm.devices.virtio.VirtioFeatures;
import dev.sandbox.engine.vmm.devices.virtio.VirtioInterrupt;
import dev.sandbox.engine.vmm.devices.virtio.VirtqueueException;
import dev.sandbox.engine.vmm.memory.GuestMemory;
import dev.sandbox.engine.vmm.memory.GuestMemoryException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The virtio-vsock device (id 19): queues RX 0, TX 1, event 2; configuration space {@code le64 guest_cid}.
 *
 * <p>Split by job, as Firecracker's vsock: this class is the device and its queues; {@link VsockMuxer} is the
 * connection table that routes packets, {@link Connection} one connection's state machine, {@link HostChannels}
 * the host's blocking end of each ({@link VsockChannel}), {@link VsockState} what a snapshot keeps, and
 * {@link VsockMetrics} the counters.
 *
 * <p>Threads: one lock guards all state. The TX queue is processed on whichever thread delivers its notification
 * (a vCPU's MMIO exit, later an ioeventfd loop). Host channels run on their callers' threads and block on the lock's
 * condition; when they have something for the guest they ask the {@code worker} executor to fill RX buffers, so the
 * caller decides whether that happens inline ({@code Runnable::run}) or on a device thread.
 */
public final class VirtioVsock implements VirtioDevice {
    public static final int DEVICE_TYPE = 19;
    public static final long HOST_CID = 2;
    static final int RX_QUEUE = 0;
    static final int TX_QUEUE = 1;
    static final int EVENT_QUEUE = 2;
    static final int QUEUE_SIZE = 256;
    /** Receive buffer per connection, advertised to the guest as buf_alloc (Linux's default socket buffer). */
    static final int BUF_ALLOC = 256 * 1024;
    /** Largest payload in one packet either way (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
    static final int MAX_PAYLOAD = 64 * 1024;
    /** Bytes the host may have queued for one guest connection beyond what was sent. */
    static final int TO_GUEST_BUFFER = 256 * 1024;
    /** RST replies to unknown connections waiting for RX buffers; beyond this they are dropped. */
    static final int MAX_PENDING_REPLIES = 1024;
    public static final int FIRST_HOST_PORT = 0x4000_0000;
    static final int EVENT_TRANSPORT_RESET = 0;

    private final long guestCid;
    private final Executor worker;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final AtomicBoolean rxScheduled = new AtomicBoolean();
    private final VsockMetrics metrics = new VsockMetrics();
    private final VsockMuxer muxer;
    private final HostChannels host;
    private GuestMemory memory;
    private List<Queue> queues;
    private VirtioInterrupt interrupt;
    private boolean failed;
    private boolean eventPending;
    /** A transport reset is in the driver's hands and not yet handled (see awaitTransportResetHandled). */
    private boolean resetDelivered;
    private boolean notifying;

    /**
     * @param guestCid the guest's context id (3 or more)
     * @param worker   runs RX processing requested by host channels; {@code Runnable::run} runs it inline
     */
    public VirtioVsock(long guestCid, Executor worker) {
        this(guestCid, worker, FIRST_HOST_PORT);
    }

    /**
     * @param firstHostPort where host-side ports start. A VM restored from a snapshot must not reuse the ports of
     *                      its earlier life: the guest may still send stale packets for those connections, which
     *                      would hit a new connection with the same ports (see MicrovmBuilder). A restored
     *                      {@link VsockState} carries on from where its ports stood instead.
     */
    public VirtioVsock(long guestCid, Executor worker, int firstHostPort) {
        if (guestCid < 3 || guestCid > 0xffff_ffffL) {
            throw new IllegalArgumentException("guest CID must be in 3..2^32-1: " + guestCid);
        }
        if (firstHostPort < FIRST_HOST_PORT) {
            throw new IllegalArgumentException("host ports start at 0x40000000 or above: " + firstHostPort);
        }
        this.guestCid = guestCid;
        this.worker = worker;
        this.muxer = new VsockMuxer(guestCid, firstHostPort, this::scheduleRx, metrics);
        this.host = new HostChannels(lock, changed, muxer, this::active);
    }

    public long guestCid() {
        return guestCid;
    }

    public VsockMetrics metrics() {
        return metrics;
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public long features() {
        return VirtioFeatures.VERSION_1;
    }

    @Override
    public List<Integer> queueMaxSizes() {
        return List.of(QUEUE_SIZE, QUEUE_SIZE, QUEUE_SIZE);
    }

    @Override
    public void readConfig(long offset, byte[] data) {
        for (int i = 0; i < data.length; i++) {
            long at = offset + i;
            data[i] = at >= 0 && at < 8 ? (byte) (guestCid >>> (8 * at)) : 0;
        }
    }

    @Override
    public void writeConfig(long offset, byte[] data) {
        // guest_cid is read-only
    }

    @Override
    public void activate(GuestMemory memory, List<Queue> queues, long ackedFeatures, VirtioInterrupt interrupt) {
        lock.lock();
        try {
            this.memory = memory;
            this.queues = List.copyOf(queues);
            this.interrupt = interrupt;
            this.failed = false;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void queueNotify(int index) {
        lock.lock();
        try {
            if (!active()) {
                return;
            }
            notifying = true;
            switch (index) {
                case TX_QUEUE -> processTx();
                case EVENT_QUEUE -> {
                    // Linux kicks the event queue after handling an event and posting its buffer again: the
                    // reset we delivered is done with, and connections made from now on survive.
                    if (resetDelivered && !eventPending) {
                        resetDelivered = false;
                        changed.signalAll();
                    }
                    deliverTransportReset();
                }
                default -> { // RX: new buffers, handled below
                }
            }
            processRx();
        } catch (VirtqueueException | GuestMemoryException e) {
            fail(e);
        } finally {
            notifying = false;
            lock.unlock();
        }
    }

    @Override
    public void reset() {
        lock.lock();
        try {
            muxer.dropAll();
            changed.signalAll();
            memory = null;
            queues = null;
            interrupt = null;
            failed = false;
            eventPending = false;
            resetDelivered = false;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Opens a stream to {@code guestPort}: sends REQUEST and waits for the guest's RESPONSE.
     *
     * @throws java.net.ConnectException       the guest answered RST (nothing listens on the port)
     * @throws java.net.SocketTimeoutException no answer within {@code timeout}
     * @throws IOException                     the device is not active, or was reset meanwhile
     */
    public VsockChannel connect(int guestPort, Duration timeout) throws IOException {
        return host.connect(this, guestPort, timeout);
    }

    /**
     * Tells the driver that every connection is gone (VIRTIO_VSOCK_EVENT_TRANSPORT_RESET), as after a restore from
     * a snapshot that kept no connections; host channels of the old connections fail.
     */
    public void sendTransportReset() {
        lock.lock();
        try {
            if (!active()) {
                return;
            }
            muxer.dropAll();
            changed.signalAll();
            eventPending = true;
            metrics.transportResets.increment();
            deliverTransportReset();
        } catch (VirtqueueException | GuestMemoryException e) {
            fail(e);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until the driver has handled the last transport reset (it resets every guest socket, asynchronously):
     * a connection opened before that would be reset with the old ones. False if it did not within
     * {@code timeout}.
     */
    public boolean awaitTransportResetHandled(Duration timeout) throws InterruptedException {
        lock.lock();
        try {
            long nanos = timeout.toNanos();
            while ((eventPending || resetDelivered) && active()) {
                if (nanos <= 0) {
                    return false;
                }
                nanos = changed.awaitNanos(nanos);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Sends every host channel's blocked and later calls away with {@link ChannelDetachedException}, leaving the
     * connections open and their state as it is: the host lets go of them before a snapshot keeps them.
     */
    public void detachHostChannels() {
        lock.lock();
        try {
            muxer.detachAll();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The host end of the open stream between {@code hostPort} and {@code guestPort}, taken up again: after a
     * restore that kept it, or after {@link #detachHostChannels} on a VM that runs on.
     *
     * @throws IOException there is no such open stream
     */
    public VsockChannel reattach(int hostPort, int guestPort) throws IOException {
        lock.lock();
        try {
            Connection connection = muxer.reattach(hostPort, guestPort);
            if (connection == null || !active()) {
                throw new IOException("no open vsock stream between host port %d and guest port %d"
                        .formatted(hostPort, guestPort));
            }
            metrics.reattached.increment();
            return new VsockChannel(this, connection);
        } finally {
            lock.unlock();
        }
    }

    /** {@link #reattach(int, int)} for the one open stream to {@code guestPort}; none, or two, is an IOException. */
    public VsockChannel reattach(int guestPort) throws IOException {
        lock.lock();
        try {
            Connection connection = active() ? muxer.reattach(guestPort) : null;
            if (connection == null) {
                throw new IOException("no single open vsock stream to guest port " + guestPort);
            }
            metrics.reattached.increment();
            return new VsockChannel(this, connection);
        } finally {
            lock.unlock();
        }
    }

    /** The connections a snapshot keeps; taken with the VM paused and the device threads stopped. */
    public VsockState state() {
        lock.lock();
        try {
            return muxer.save();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Puts saved connections back, after the transport's restore activated the device and before the vCPUs run;
     * their packets for the guest go out with the first queue kick.
     */
    public void restore(VsockState state) {
        lock.lock();
        try {
            muxer.restore(state);
        } finally {
            lock.unlock();
        }
    }

    int read(Connection connection, ByteBuffer destination) throws IOException {
        return host.read(connection, destination);
    }

    int write(Connection connection, ByteBuffer source) throws IOException {
        return host.write(connection, source);
    }

    boolean isOpen(Connection connection) {
        return host.isOpen(connection);
    }

    void close(Connection connection) {
        host.close(connection);
    }

    private boolean active() {
        return queues != null && !failed;
    }

    private void processTx() {
        Queue tx = queues.get(TX_QUEUE);
        boolean used = false;
        for (DescriptorChain chain = tx.pop(memory); chain != null; chain = tx.pop(memory)) {
            receive(chain);
            tx.addUsed(memory, chain.head(), 0);
            used = true;
        }
        if (used && tx.needsInterrupt(memory)) {
            interrupt.usedBuffers();
        }
    }

    /** Handles one packet from the guest; malformed or misaddressed packets are dropped, never thrown. */
    private void receive(DescriptorChain chain) {
        if (chain.readableLength() < VsockHeader.SIZE) {
            return;
        }
        byte[] headerBytes = new byte[VsockHeader.SIZE];
        chain.read(memory, 0, headerBytes, 0, VsockHeader.SIZE);
        muxer.receive(VsockHeader.decode(headerBytes), chain.readableLength() - VsockHeader.SIZE,
                (into, length) -> chain.read(memory, VsockHeader.SIZE, into, 0, length));
        changed.signalAll();
    }

    /** A packet for the guest is queued: fill RX buffers soon (a notification ends with RX processing anyway). */
    private void scheduleRx() {
        if (!notifying && rxScheduled.compareAndSet(false, true)) {
            try {
                worker.execute(this::processRxLater);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                rxScheduled.set(false); // the worker is stopped for a snapshot: the next kick sends it
            }
        }
    }

    private void processRxLater() {
        lock.lock();
        try {
            rxScheduled.set(false);
            if (active()) {
                processRx();
            }
        } catch (VirtqueueException | GuestMemoryException e) {
            fail(e);
        } finally {
            lock.unlock();
        }
    }

    /** Fills RX buffers with owed packets: replies to unknown connections first, then connections in turn. */
    private void processRx() {
        // A pass now covers what a scheduled one would: one dropped by a stopped worker must not block the next.
        rxScheduled.set(false);
        Queue rx = queues.get(RX_QUEUE);
        boolean used = false;
        while (muxer.hasPacketForGuest()) {
            DescriptorChain chain = rx.pop(memory);
            if (chain == null) {
                break; // resumes when the driver posts buffers
            }
            if (chain.writableLength() < VsockHeader.SIZE) {
                throw new VirtqueueException("vsock RX buffer of %d bytes cannot hold a header"
                        .formatted(chain.writableLength()));
            }
            int maxPayload = (int) Math.min(chain.writableLength() - VsockHeader.SIZE, MAX_PAYLOAD);
            Connection.Packet packet = muxer.nextPacket(maxPayload);
            chain.write(memory, 0, packet.header().encode(), 0, VsockHeader.SIZE);
            chain.write(memory, VsockHeader.SIZE, packet.payload(), 0, packet.payload().length);
            rx.addUsed(memory, chain.head(), VsockHeader.SIZE + packet.payload().length);
            used = true;
        }
        if (used && rx.needsInterrupt(memory)) {
            interrupt.usedBuffers();
        }
        changed.signalAll(); // writers may have credit again, and buffered bytes left
    }

    private void deliverTransportReset() {
        if (!eventPending) {
            return;
        }
        Queue events = queues.get(EVENT_QUEUE);
        DescriptorChain chain = events.pop(memory);
        if (chain == null) {
            return; // sent when the driver posts an event buffer
        }
        if (chain.writableLength() < 4) {
            throw new VirtqueueException("vsock event buffer smaller than an event");
        }
        byte[] event = new byte[4];
        BusData.put(event, EVENT_TRANSPORT_RESET);
        chain.write(memory, 0, event, 0, event.length);
        events.addUsed(memory, chain.head(), event.length);
        eventPending = false;
        resetDelivered = true;
        if (events.needsInterrupt(memory)) {
            interrupt.usedBuffers();
        }
    }

    private void fail(RuntimeException e) {
        failed = true;
        muxer.dropAll();
        changed.signalAll();
        interrupt.needsReset("virtio-vsock: " + e.getMessage());
    }

    /** Queues and connections with their counters, for a stall report. */
    public String describe() {
        try {
            if (!lock.tryLock(2, TimeUnit.SECONDS)) {
                return "vsock: its lock is held for over 2 s\n";
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "vsock: interrupted\n";
        }
        try {
            StringBuilder s = new StringBuilder("vsock: ");
            if (queues == null) {
                return s.append("not active\n").toString();
            }
            s.append(failed ? "failed" : "active").append(", rx scheduled ").append(rxScheduled.get())
                    .append(", rx ready ").append(muxer.rxReadyCount()).append(", replies ")
                    .append(muxer.replyCount()).append("; ").append(metrics).append('\n');
            String[] names = {"rx", "tx", "event"};
            for (int i = 0; i < queues.size(); i++) {
                s.append("  ").append(names[i]).append(" queue: ").append(queues.get(i).describe(memory)).append('\n');
            }
            muxer.connections().forEach(c -> s.append("  ").append(c.describe()).append('\n'));
            return s.toString();
        } finally {
            lock.unlock();
        }
    }
}
