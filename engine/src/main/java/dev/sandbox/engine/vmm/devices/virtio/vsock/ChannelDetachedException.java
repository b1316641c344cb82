package dev.sandbox.engine.vmm.devices.virtio.vsock;

import java.io.IOException;

/** A host call on a connection the host let go of to keep it through a snapshot (the stream itself is intact). */
public final class ChannelDetachedException extends IOException {
    ChannelDetachedException(int guestPort) {
        super("the host let go of its connection to guest vsock port " + guestPort + " (kept for a snapshot)");
    }
}
