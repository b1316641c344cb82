package dev.sandbox.engine.vmm.devices.virtio.vsock;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The connection table between the guest's packets and the host's channels: routes each packet from the guest to
 * its {@link Connection} (or answers RST for none), picks the next packet for the guest round robin, allocates host
 * ports, and saves and restores the table with a snapshot. Never blocks and never throws for what a guest sends;
 * guarded by the device's lock.
 */
final class VsockMuxer {
    /** Reads a packet's payload out of its descriptor chain. */
    interface Payload {
        void read(byte[] into, int length);
    }

    private final long guestCid;
    private final Runnable rxWanted;
    private final VsockMetrics metrics;
    private final Map<Long, Connection> connections = new HashMap<>();
    private final ArrayDeque<Connection> rxReady = new ArrayDeque<>();
    private final ArrayDeque<VsockHeader> replies = new ArrayDeque<>();
    private int nextHostPort;

    /** {@code rxWanted} runs (lock held) whenever a packet for the guest is queued. */
    VsockMuxer(long guestCid, int firstHostPort, Runnable rxWanted, VsockMetrics metrics) {
        this.guestCid = guestCid;
        this.nextHostPort = firstHostPort;
        this.rxWanted = rxWanted;
        this.metrics = metrics;
    }

    /** A new host-initiated connection to {@code guestPort}, its REQUEST queued. */
    Connection open(int guestPort) {
        Connection connection = new Connection(allocateHostPort(guestPort), guestPort, VirtioVsock.TO_GUEST_BUFFER);
        connections.put(key(connection.hostPort, guestPort), connection);
        connection.requestPending = true;
        queueForRx(connection);
        metrics.hostConnects.increment();
        return connection;
    }

    /** Handles one packet from the guest; a malformed or misaddressed one is dropped or answered with RST. */
    void receive(VsockHeader header, long payloadAvailable, Payload payload) {
        if (header.srcCid() != guestCid || header.dstCid() != VirtioVsock.HOST_CID) {
            return;
        }
        Connection connection = connections.get(key(header.dstPort(), header.srcPort()));
        long length = Integer.toUnsignedLong(header.len());
        boolean badLength = length > VirtioVsock.MAX_PAYLOAD || length > payloadAvailable;
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
            case VsockHeader.OP_RW -> receiveData(connection, payload, (int) length);
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
    }

    private void receiveData(Connection connection, Payload payload, int length) {
        if (connection.state != Connection.State.ESTABLISHED || connection.peerSendShutdown
                || length > connection.fromGuest.free()) {
            terminate(connection, true); // data outside the connection's life, or beyond the credit we gave
            return;
        }
        byte[] bytes = new byte[length];
        payload.read(bytes, length);
        connection.receivedCount += length;
        metrics.bytesFromGuest.add(length);
        if (connection.hostClosed) {
            connection.forwardedCount += length; // nobody will read it: consumed
        } else {
            connection.fromGuest.put(bytes);
        }
    }

    private void replyRst(VsockHeader to) {
        if (replies.size() < VirtioVsock.MAX_PENDING_REPLIES) {
            replies.add(new VsockHeader(VirtioVsock.HOST_CID, to.srcCid(), to.dstPort(), to.srcPort(), 0,
                    VsockHeader.TYPE_STREAM, VsockHeader.OP_RST, 0, 0, 0));
            rxWanted.run();
        }
    }

    /** Ends a connection for the host side; with {@code sendRst} the guest is told, and the entry goes once it is. */
    void terminate(Connection connection, boolean sendRst) {
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
    }

    void queueForRx(Connection connection) {
        if (!connection.queuedForRx) {
            connection.queuedForRx = true;
            rxReady.add(connection);
        }
        rxWanted.run();
    }

    boolean hasPacketForGuest() {
        while (!rxReady.isEmpty() && !rxReady.peek().hasPacketForGuest()) {
            rxReady.poll().queuedForRx = false;
        }
        return !replies.isEmpty() || !rxReady.isEmpty();
    }

    /** Called after {@link #hasPacketForGuest()} said there is one: replies to unknown connections first. */
    Connection.Packet nextPacket(int maxPayload) {
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
        metrics.bytesToGuest.add(packet.payload().length);
        return packet;
    }

    /** Every connection ends (reset), as after a device reset or a transport reset. */
    void dropAll() {
        for (Connection connection : connections.values()) {
            connection.reset = true;
            connection.state = Connection.State.CLOSED;
        }
        connections.clear();
        rxReady.clear();
        replies.clear();
    }

    /** Sends blocked host readers and writers away without ending their connections (see VirtioVsock#detach). */
    void detachAll() {
        for (Connection connection : connections.values()) {
            connection.detached = true;
        }
    }

    /** The host's end of the open connection between the two ports, taken up again; null if there is none. */
    Connection reattach(int hostPort, int guestPort) {
        Connection connection = connections.get(key(hostPort, guestPort));
        if (connection == null || connection.state != Connection.State.ESTABLISHED || connection.hostClosed) {
            return null;
        }
        connection.detached = false;
        return connection;
    }

    /** The one open stream to {@code guestPort}, taken up again; null if there is none or more than one. */
    Connection reattach(int guestPort) {
        Connection found = null;
        for (Connection c : connections.values()) {
            if (c.guestPort == guestPort && c.state == Connection.State.ESTABLISHED && !c.hostClosed) {
                if (found != null) {
                    return null;
                }
                found = c;
            }
        }
        if (found != null) {
            found.detached = false;
        }
        return found;
    }

    Iterable<Connection> connections() {
        return connections.values();
    }

    int rxReadyCount() {
        return rxReady.size();
    }

    int replyCount() {
        return replies.size();
    }

    /**
     * What survives a snapshot: every established connection the host has not closed, with its counters and the
     * bytes buffered each way. Connections in any other state are left out; the guest's packets for them get RST
     * after the restore.
     */
    VsockState save() {
        List<VsockState.Stream> streams = new ArrayList<>();
        for (Connection c : connections.values()) {
            if (c.state == Connection.State.ESTABLISHED && !c.hostClosed && !c.reset && !c.rstPending) {
                streams.add(c.save());
            }
        }
        return new VsockState(nextHostPort, streams);
    }

    /** Puts the saved connections back (detached: the host takes each up with {@link #reattach}). */
    void restore(VsockState state) {
        dropAll();
        nextHostPort = state.nextHostPort();
        for (VsockState.Stream s : state.streams()) {
            Connection c = Connection.restore(s, VirtioVsock.TO_GUEST_BUFFER);
            c.detached = true;
            connections.put(key(c.hostPort, c.guestPort), c);
            if (c.hasPacketForGuest()) {
                queueForRx(c);
            }
            metrics.connectionsRestored.increment();
        }
    }

    private int allocateHostPort(int guestPort) {
        while (connections.containsKey(key(nextHostPort, guestPort))) {
            nextHostPort++;
        }
        int port = nextHostPort;
        nextHostPort = nextHostPort == Integer.MAX_VALUE ? VirtioVsock.FIRST_HOST_PORT : nextHostPort + 1;
        return port;
    }

    private static long key(int hostPort, int guestPort) {
        return (long) hostPort << 32 | Integer.toUnsignedLong(guestPort);
    }
}
