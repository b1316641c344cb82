package dev.sandbox.engine.vmm.devices.virtio.vsock;

/**
 * One stream connection's state: its place in the handshake, the bytes buffered each way, the credit counters, and
 * the control packets owed to the guest. Guarded by the device's lock.
 */
final class Connection {
    enum State { CONNECTING, ESTABLISHED, CLOSED }

    /** A packet ready for the guest's RX queue. */
    record Packet(VsockHeader header, byte[] payload) {
    }

    final int hostPort;
    final int guestPort;
    State state = State.CONNECTING;

    // Host to guest: bytes accepted from the host writer, and the guest's credit.
    final ByteRing toGuest;
    int acceptedCount;
    int peerBufAlloc;
    int peerFwdCount;

    // Guest to host: our receive buffer and what we told the guest about it.
    final ByteRing fromGuest;
    int receivedCount;
    int forwardedCount;
    int advertisedFwdCount;

    boolean peerSendShutdown;
    boolean peerReceiveShutdown;
    boolean hostClosed;
    /** The host let go of it without closing (to keep it through a snapshot): host calls fail, the stream stays. */
    boolean detached;
    /** Ended abnormally: refused, reset by the guest, a protocol error, or a device reset. */
    boolean reset;

    // Control packets owed to the guest.
    boolean requestPending;
    boolean creditUpdatePending;
    boolean rstPending;
    int shutdownPending;
    boolean queuedForRx;

    Connection(int hostPort, int guestPort, int toGuestCapacity) {
        this.hostPort = hostPort;
        this.guestPort = guestPort;
        this.toGuest = new ByteRing(toGuestCapacity);
        this.fromGuest = new ByteRing(VirtioVsock.BUF_ALLOC);
    }

    /** Bytes the host may still write: the guest's free buffer space, bounded by our own outgoing buffer. */
    int hostCredit() {
        long inFlight = Integer.toUnsignedLong(acceptedCount - peerFwdCount);
        long credit = Integer.toUnsignedLong(peerBufAlloc) - inFlight;
        return (int) Math.max(0, Math.min(credit, toGuest.free()));
    }

    /**
     * Whether to tell the guest about consumed bytes now: when the free space it believes we have dropped below one
     * full packet, so it may be waiting for credit. Otherwise the counter rides on the next packet we send anyway.
     */
    boolean creditUpdateNeeded() {
        long unadvertised = Integer.toUnsignedLong(forwardedCount - advertisedFwdCount);
        long guestViewOfFree = VirtioVsock.BUF_ALLOC - Integer.toUnsignedLong(receivedCount - advertisedFwdCount);
        return unadvertised > 0 && guestViewOfFree < VirtioVsock.MAX_PAYLOAD;
    }

    boolean hasPacketForGuest() {
        return rstPending || requestPending || creditUpdatePending
                || (state == State.ESTABLISHED && !toGuest.isEmpty())
                || (shutdownPending != 0 && toGuest.isEmpty());
    }

    /**
     * The next packet for the guest, for an RX buffer with room for {@code maxPayload} data bytes, or null. Order:
     * RST ends everything; REQUEST opens; data before SHUTDOWN; a credit update when nothing else carries it.
     */
    Packet nextPacket(long guestCid, int maxPayload) {
        if (rstPending) {
            rstPending = false;
            return control(guestCid, VsockHeader.OP_RST, 0);
        }
        if (requestPending) {
            requestPending = false;
            return control(guestCid, VsockHeader.OP_REQUEST, 0);
        }
        if (state == State.ESTABLISHED && !toGuest.isEmpty() && maxPayload > 0) {
            byte[] payload = toGuest.take(maxPayload);
            return new Packet(header(guestCid, VsockHeader.OP_RW, 0, payload.length), payload);
        }
        if (shutdownPending != 0 && toGuest.isEmpty()) {
            int flags = shutdownPending;
            shutdownPending = 0;
            return control(guestCid, VsockHeader.OP_SHUTDOWN, flags);
        }
        // Also answers a header-only RX buffer while data waits: a valid packet that carries no payload.
        if (creditUpdatePending || (state == State.ESTABLISHED && !toGuest.isEmpty())) {
            return control(guestCid, VsockHeader.OP_CREDIT_UPDATE, 0);
        }
        return null;
    }

    VsockState.Stream save() {
        return new VsockState.Stream(hostPort, guestPort, acceptedCount, peerBufAlloc, peerFwdCount, receivedCount,
                forwardedCount, advertisedFwdCount, peerSendShutdown, peerReceiveShutdown, creditUpdatePending,
                toGuest.peekAll(), fromGuest.peekAll());
    }

    static Connection restore(VsockState.Stream s, int toGuestCapacity) {
        Connection c = new Connection(s.hostPort(), s.guestPort(), Math.max(toGuestCapacity, s.toGuest().length));
        c.state = State.ESTABLISHED;
        c.acceptedCount = s.acceptedCount();
        c.peerBufAlloc = s.peerBufAlloc();
        c.peerFwdCount = s.peerFwdCount();
        c.receivedCount = s.receivedCount();
        c.forwardedCount = s.forwardedCount();
        c.advertisedFwdCount = s.advertisedFwdCount();
        c.peerSendShutdown = s.peerSendShutdown();
        c.peerReceiveShutdown = s.peerReceiveShutdown();
        c.creditUpdatePending = s.creditUpdatePending();
        c.toGuest.put(s.toGuest());
        c.fromGuest.put(s.fromGuest());
        return c;
    }

    String describe() {
        return ("host port %d <-> guest port %d %s: to guest %d buffered, %d accepted, peer buf %d fwd %d, credit %d;"
                + " from guest %d buffered, %d received, %d forwarded, %d advertised; pending rst %b request %b"
                + " credit %b shutdown %d, queued %b, reset %b, host closed %b, detached %b").formatted(hostPort, guestPort, state,
                toGuest.size(), acceptedCount, peerBufAlloc, peerFwdCount, hostCredit(), fromGuest.size(),
                receivedCount, forwardedCount, advertisedFwdCount, rstPending, requestPending, creditUpdatePending,
                shutdownPending, queuedForRx, reset, hostClosed, detached);
    }

    private Packet control(long guestCid, int op, int flags) {
        return new Packet(header(guestCid, op, flags, 0), new byte[0]);
    }

    private VsockHeader header(long guestCid, int op, int flags, int length) {
        advertisedFwdCount = forwardedCount;
        creditUpdatePending = false;
        return new VsockHeader(VirtioVsock.HOST_CID, guestCid, hostPort, guestPort, length, VsockHeader.TYPE_STREAM,
                op, flags, VirtioVsock.BUF_ALLOC, forwardedCount);
    }
}
