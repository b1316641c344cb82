package dev.sandbox.engine.vmm.devices.virtio.vsock;

import dev.sandbox.engine.vmm.snapshot.SnapshotFormatException;
import dev.sandbox.engine.vmm.snapshot.StateReader;
import dev.sandbox.engine.vmm.snapshot.StateWriter;

import java.util.ArrayList;
import java.util.List;

/**
 * {@link VsockState} in the vmstate: section "vsock"; i32 next host port; i32 stream count; per stream i32 host
 * port, i32 guest port, i32 accepted, i32 peer buf_alloc, i32 peer fwd_cnt, i32 received, i32 forwarded, i32
 * advertised, bool peer send shutdown, bool peer receive shutdown, bool credit update pending, bytes to guest,
 * bytes from guest. Decoding refuses what the device could not have held.
 */
public final class VsockStateCodec {
    public static final String SECTION = "vsock";

    private VsockStateCodec() {
    }

    public static void encode(VsockState s, StateWriter w) {
        w.section(SECTION).i32(s.nextHostPort()).i32(s.streams().size());
        for (VsockState.Stream t : s.streams()) {
            w.i32(t.hostPort()).i32(t.guestPort()).i32(t.acceptedCount()).i32(t.peerBufAlloc()).i32(t.peerFwdCount())
                    .i32(t.receivedCount()).i32(t.forwardedCount()).i32(t.advertisedFwdCount())
                    .bool(t.peerSendShutdown()).bool(t.peerReceiveShutdown()).bool(t.creditUpdatePending())
                    .bytes(t.toGuest()).bytes(t.fromGuest());
        }
    }

    public static VsockState decode(StateReader r) {
        r.expectSection(SECTION);
        int next = r.i32InRange("next vsock host port", VirtioVsock.FIRST_HOST_PORT, Integer.MAX_VALUE);
        int count = r.i32InRange("vsock stream count", 0, VsockState.MAX_STREAMS);
        List<VsockState.Stream> streams = new ArrayList<>(count);
        try {
            for (int i = 0; i < count; i++) {
                streams.add(new VsockState.Stream(r.i32InRange("vsock host port", VirtioVsock.FIRST_HOST_PORT,
                        Integer.MAX_VALUE), r.i32(), r.i32(), r.i32(), r.i32(), r.i32(), r.i32(), r.i32(), r.bool(),
                        r.bool(), r.bool(), r.bytes(VirtioVsock.TO_GUEST_BUFFER), r.bytes(VirtioVsock.BUF_ALLOC)));
            }
            return new VsockState(next, streams);
        } catch (IllegalArgumentException e) {
            throw new SnapshotFormatException("invalid vsock state: " + e.getMessage());
        }
    }
}
