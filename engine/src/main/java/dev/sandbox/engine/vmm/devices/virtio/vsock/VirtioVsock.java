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
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The virtio-vsock device (id 19): queues RX 0, TX 1, event 2; configuration space {@code le64 guest_cid}.
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
    private final Map<Long, Connection> connections = new HashMap<>();
    private final ArrayDeque<Connection> rxReady = new ArrayDeque<>();
    private final ArrayDeque<VsockHeader> replies = new ArrayDeque<>();
    private int nextHostPort;
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
     *                      would hit a new connection with the same ports (see MicrovmBuilder).
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
        this.nextHostPort = firstHostPort;
    }

    public long guestCid() {
        return guestCid;
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
            dropConnections();
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
     * @throws ConnectException       the guest answered RST (nothing listens on the port)
     * @throws SocketTimeoutException no answer within {@code timeout}
     * @throws IOException            the device is not active, or was reset meanwhile
     */
    public VsockChannel connect(int guestPort, Duration timeout) throws IOException {
        lock.lock();
        try {
            if (!active()) {
                throw new IOException("vsock device is not active");
            }
            Connection connection = new Connection(allocateHostPort(guestPort), guestPort, TO_GUEST_BUFFER);
            connections.put(key(connection.hostPort, guestPort), connection);
            connection.requestPending = true;
            queueForRx(connection);
            long nanos = timeout.toNanos();
            while (connection.state == Connection.State.CONNECTING) {
                if (nanos <= 0) {
                    terminate(connection, true);
                    throw new SocketTimeoutException("guest vsock port " + guestPort + " did not answer in " + timeout);
                }
                try {
                    nanos = changed.awaitNanos(nanos);
                } catch (InterruptedException e) {
                    terminate(connection, true);
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted connecting to guest vsock port " + guestPort);
                }
            }
            if (connection.reset) {
                throw new ConnectException("guest refused vsock port " + guestPort);
            }
            return new VsockChannel(this, connection);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Tells the driver that every connection is gone (VIRTIO_VSOCK_EVENT_TRANSPORT_RESET), as after a snapshot
     * restore; host channels of the old connections fail.
     */
    public void sendTransportReset() {
        lock.lock();
        try {
            if (!active()) {
                return;
            }
            dropConnections();
            eventPending = true;
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

    int read(Connection connection, ByteBuffer destination) throws IOException {
        lock.lock();
        try {
            if (!destination.hasRemaining()) {
                return 0;
            }
            boolean waited = false;
            while (true) {
                if (connection.hostClosed) {
                    throw waited ? new AsynchronousCloseException() : new ClosedChannelException();
                }
                if (!connection.fromGuest.isEmpty()) {
                    int n = connection.fromGuest.take(destination);
                    connection.forwardedCount += n;
                    if (connection.state == Connection.State.ESTABLISHED && connection.creditUpdateNeeded()) {
                        connection.creditUpdatePending = true;
                        queueForRx(connection);
                    }
                    return n;
                }
                if (connection.peerSendShutdown) {
                    return -1;
                }
                if (connection.reset) {
                    throw new IOException("vsock connection to guest port " + connection.guestPort + " was reset");
                }
                awaitChange(connection);
                waited = true;
            }
        } finally {
            lock.unlock();
        }
    }

    int write(Connection connection, ByteBuffer source) throws IOException {
        lock.lock();
        try {
            int written = 0;
            boolean waited = false;
            while (source.hasRemaining()) {
                if (connection.hostClosed) {
                    throw waited ? new AsynchronousCloseException() : new ClosedChannelException();
                }
                if (connection.reset || connection.peerReceiveShutdown || connection.state != Connection.State.ESTABLISHED) {
                    throw new IOException("guest vsock port " + connection.guestPort + " no longer receives");
                }
                int n = Math.min(source.remaining(), connection.hostCredit());
                if (n == 0) {
                    awaitChange(connection);
                    waited = true;
                    continue;
                }
                connection.toGuest.put(source, n);
                connection.acceptedCount += n;
                written += n;
                queueForRx(connection);
            }
            return written;
        } finally {
            lock.unlock();
        }
    }

    boolean isOpen(Connection connection) {
        lock.lock();
        try {
            return !connection.hostClosed;
        } finally {
            lock.unlock();
        }
    }

    /** Closes the host end: SHUTDOWN after the data still queued, or RST if the guest already shut down both ways. */
    void close(Connection connection) {
        lock.lock();
        try {
            if (connection.hostClosed) {
                return;
            }
            connection.hostClosed = true;
            if (connection.state == Connection.State.ESTABLISHED) {
                if (connection.peerSendShutdown && connection.peerReceiveShutdown) {
                    terminate(connection, true);
                } else {
                    connection.shutdownPending = VsockHeader.SHUTDOWN_RCV | VsockHeader.SHUTDOWN_SEND;
                    queueForRx(connection);
                }
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
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
        VsockHeader header = VsockHeader.decode(headerBytes);
        if (header.srcCid() != guestCid || header.dstCid() != HOST_CID) {
            return;
        }
        Connection connection = connections.get(key(header.dstPort(), header.srcPort()));
        long length = Integer.toUnsignedLong(header.len());
        boolean badLength = length > MAX_PAYLOAD || length > chain.readableLength() - VsockHeader.SIZE;
        if (connection == null || connection.state == Connection.State.CLOSED) {
            if (connection == null && header.op() != VsockHeader.OP_RST) {
                replyRst(header);
            }
            return;
        }
        if (badLength || header.type() != VsockHeader.TYPE_STREAM) {
            terminate(connection, true);
            return;
        }
        connection.peerBufAlloc = header.bufAlloc();
        connection.peerFwdCount = header.fwdCnt();
        switch (header.op()) {
            case VsockHeader.OP_RESPONSE -> {
                if (connection.state != Connection.State.CONNECTING) {
                    terminate(connection, true);
                } else {
                    connection.state = Connection.State.ESTABLISHED;
                }
            }
            case VsockHeader.OP_RW -> receiveData(connection, chain, (int) length);
            case VsockHeader.OP_CREDIT_UPDATE -> { // the credit fields were taken above
            }
            case VsockHeader.OP_CREDIT_REQUEST -> {
                connection.creditUpdatePending = true;
                queueForRx(connection);
            }
            case VsockHeader.OP_SHUTDOWN -> {
                connection.peerReceiveShutdown |= (header.flags() & VsockHeader.SHUTDOWN_RCV) != 0;
                connection.peerSendShutdown |= (header.flags() & VsockHeader.SHUTDOWN_SEND) != 0;
                if (connection.hostClosed && connection.peerReceiveShutdown && connection.peerSendShutdown) {
                    terminate(connection, true);
                }
            }
            case VsockHeader.OP_RST -> terminate(connection, false);
            default -> terminate(connection, true); // REQUEST to an existing port, or an unknown op
        }
        changed.signalAll();
    }

    private void receiveData(Connection connection, DescriptorChain chain, int length) {
        if (connection.state != Connection.State.ESTABLISHED || connection.peerSendShutdown
                || length > connection.fromGuest.free()) {
            terminate(connection, true); // data outside the connection's life, or beyond the credit we gave
            return;
        }
        byte[] payload = new byte[length];
        chain.read(memory, VsockHeader.SIZE, payload, 0, length);
        connection.receivedCount += length;
        if (connection.hostClosed) {
            connection.forwardedCount += length; // nobody will read it: consumed
        } else {
            connection.fromGuest.put(payload);
        }
    }

    private void replyRst(VsockHeader to) {
        if (replies.size() < MAX_PENDING_REPLIES) {
            replies.add(new VsockHeader(HOST_CID, to.srcCid(), to.dstPort(), to.srcPort(), 0, VsockHeader.TYPE_STREAM,
                    VsockHeader.OP_RST, 0, 0, 0));
        }
    }

    /** Ends a connection for the host side; with {@code sendRst} the guest is told, and the entry goes once it is. */
    private void terminate(Connection connection, boolean sendRst) {
        boolean graceful = connection.hostClosed || connection.peerSendShutdown;
        connection.reset |= !graceful || connection.state == Connection.State.CONNECTING;
        connection.state = Connection.State.CLOSED;
        connection.requestPending = false;
        connection.shutdownPending = 0;
        if (sendRst) {
            connection.rstPending = true;
            queueForRx(connection);
        } else {
            connections.remove(key(connection.hostPort, connection.guestPort));
        }
        changed.signalAll();
    }

    private void queueForRx(Connection connection) {
        if (!connection.queuedForRx) {
            connection.queuedForRx = true;
            rxReady.add(connection);
        }
        if (!notifying && rxScheduled.compareAndSet(false, true)) { // a notification ends with RX processing anyway
            worker.execute(this::processRxLater);
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
        Queue rx = queues.get(RX_QUEUE);
        boolean used = false;
        while (hasPacketForGuest()) {
            DescriptorChain chain = rx.pop(memory);
            if (chain == null) {
                break; // resumes when the driver posts buffers
            }
            if (chain.writableLength() < VsockHeader.SIZE) {
                throw new VirtqueueException("vsock RX buffer of %d bytes cannot hold a header"
                        .formatted(chain.writableLength()));
            }
            int maxPayload = (int) Math.min(chain.writableLength() - VsockHeader.SIZE, MAX_PAYLOAD);
            Connection.Packet packet = nextPacket(maxPayload);
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

    private boolean hasPacketForGuest() {
        while (!rxReady.isEmpty() && !rxReady.peek().hasPacketForGuest()) {
            rxReady.poll().queuedForRx = false;
        }
        return !replies.isEmpty() || !rxReady.isEmpty();
    }

    /** Called after {@link #hasPacketForGuest()} said there is one. */
    private Connection.Packet nextPacket(int maxPayload) {
        if (!replies.isEmpty()) {
            return new Connection.Packet(replies.poll(), new byte[0]);
        }
        Connection connection = rxReady.poll();
        Connection.Packet packet = connection.nextPacket(guestCid, maxPayload);
        if (packet.header().op() == VsockHeader.OP_RST) {
            connections.remove(key(connection.hostPort, connection.guestPort));
        }
        if (connection.hasPacketForGuest()) {
            rxReady.add(connection); // round robin between connections
        } else {
            connection.queuedForRx = false;
        }
        return packet;
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
        dropConnections();
        interrupt.needsReset("virtio-vsock: " + e.getMessage());
    }

    private void dropConnections() {
        for (Connection connection : connections.values()) {
            connection.reset = true;
            connection.state = Connection.State.CLOSED;
        }
        connections.clear();
        rxReady.clear();
        replies.clear();
        changed.signalAll();
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
                    .append(", rx ready ").append(rxReady.size()).append(", replies ").append(replies.size())
                    .append('\n');
            String[] names = {"rx", "tx", "event"};
            for (int i = 0; i < queues.size(); i++) {
                s.append("  ").append(names[i]).append(" queue: ").append(queues.get(i).describe(memory)).append('\n');
            }
            connections.values().forEach(c -> s.append("  ").append(c.describe()).append('\n'));
            return s.toString();
        } finally {
            lock.unlock();
        }
    }

    private void awaitChange(Connection connection) throws IOException {
        try {
            changed.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close(connection); // the channel contract: an interrupted blocking call closes the channel
            throw new ClosedByInterruptException();
        }
    }

    private int allocateHostPort(int guestPort) {
        while (connections.containsKey(key(nextHostPort, guestPort))) {
            nextHostPort++;
        }
        int port = nextHostPort;
        nextHostPort = nextHostPort == Integer.MAX_VALUE ? FIRST_HOST_PORT : nextHostPort + 1;
        return port;
    }

    private static long key(int hostPort, int guestPort) {
        return (long) hostPort << 32 | Integer.toUnsignedLong(guestPort);
    }
}
