package dev.sandbox.engine.vmm.devices.virtio.vsock;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The host side of the device's connections, saved with a snapshot so that a restored guest's sockets go on
 * without a transport reset: where host ports continue, and each established stream with its credit counters and
 * the bytes buffered each way. Read back from a file, so untrusted: the constructors check every bound.
 */
public record VsockState(int nextHostPort, List<Stream> streams) {
    public static final int MAX_STREAMS = 1024;

    public VsockState {
        if (nextHostPort < VirtioVsock.FIRST_HOST_PORT) {
            throw new IllegalArgumentException("next host port " + nextHostPort + " is below 0x40000000");
        }
        if (streams.size() > MAX_STREAMS) {
            throw new IllegalArgumentException(streams.size() + " vsock streams, at most " + MAX_STREAMS);
        }
        streams = List.copyOf(streams);
        Set<Long> seen = new HashSet<>();
        for (Stream s : streams) {
            if (!seen.add((long) s.hostPort() << 32 | Integer.toUnsignedLong(s.guestPort()))) {
                throw new IllegalArgumentException("two vsock streams between host port " + s.hostPort()
                        + " and guest port " + s.guestPort());
            }
        }
    }

    /** No connections: what a VM without a host end (or a snapshot from before this state) has. */
    public static VsockState empty(int nextHostPort) {
        return new VsockState(nextHostPort, List.of());
    }

    /**
     * One established stream. Counters as in the virtio spec: {@code acceptedCount} bytes the host wrote (of which
     * {@code toGuest} are not yet sent), {@code peerBufAlloc}/{@code peerFwdCount} the guest's last credit,
     * {@code receivedCount} bytes from the guest (of which {@code fromGuest} are not yet read by the host),
     * {@code forwardedCount} of them read, {@code advertisedFwdCount} the last count told to the guest.
     */
    public record Stream(int hostPort, int guestPort, int acceptedCount, int peerBufAlloc, int peerFwdCount,
                         int receivedCount, int forwardedCount, int advertisedFwdCount, boolean peerSendShutdown,
                         boolean peerReceiveShutdown, boolean creditUpdatePending, byte[] toGuest,
                         byte[] fromGuest) {
        public Stream {
            if (hostPort < VirtioVsock.FIRST_HOST_PORT) {
                throw new IllegalArgumentException("host port " + hostPort + " is below 0x40000000");
            }
            if (toGuest.length > VirtioVsock.TO_GUEST_BUFFER || fromGuest.length > VirtioVsock.BUF_ALLOC) {
                throw new IllegalArgumentException("a vsock stream buffers more than the device allows");
            }
            // What the guest sent and the host did not read is exactly what is buffered: anything else would
            // break the credit accounting of both sides.
            if (receivedCount - forwardedCount != fromGuest.length) {
                throw new IllegalArgumentException("vsock stream counters (received %d, forwarded %d) do not match %d buffered bytes"
                        .formatted(receivedCount, forwardedCount, fromGuest.length));
            }
            long unadvertised = Integer.toUnsignedLong(forwardedCount - advertisedFwdCount);
            if (unadvertised > VirtioVsock.BUF_ALLOC) {
                throw new IllegalArgumentException("vsock stream advertised count is off by " + unadvertised);
            }
            toGuest = toGuest.clone();
            fromGuest = fromGuest.clone();
        }

        @Override
        public byte[] toGuest() {
            return toGuest.clone();
        }

        @Override
        public byte[] fromGuest() {
            return fromGuest.clone();
        }
    }
}
