package dev.sandbox.engine.vmm.devices.virtio.vsock;

import java.util.concurrent.atomic.LongAdder;

/**
 * The device's counters since it was built (a VM restored from a snapshot starts at zero): how often the host
 * opened a connection or reset the transport, how many connections came back from a snapshot, and the bytes each
 * way. Tests read them to tell a kept connection from a new one.
 */
public final class VsockMetrics {
    final LongAdder hostConnects = new LongAdder();
    final LongAdder transportResets = new LongAdder();
    final LongAdder connectionsRestored = new LongAdder();
    final LongAdder reattached = new LongAdder();
    final LongAdder bytesToGuest = new LongAdder();
    final LongAdder bytesFromGuest = new LongAdder();

    /** Connections the host opened (REQUEST sent). */
    public long hostConnects() {
        return hostConnects.sum();
    }

    /** Transport reset events sent to the driver. */
    public long transportResets() {
        return transportResets.sum();
    }

    /** Connections put back from a snapshot. */
    public long connectionsRestored() {
        return connectionsRestored.sum();
    }

    /** Host channels taken up again over a kept connection. */
    public long reattached() {
        return reattached.sum();
    }

    public long bytesToGuest() {
        return bytesToGuest.sum();
    }

    public long bytesFromGuest() {
        return bytesFromGuest.sum();
    }

    @Override
    public String toString() {
        return "connects %d, transport resets %d, restored %d, reattached %d, bytes to guest %d, from guest %d"
                .formatted(hostConnects(), transportResets(), connectionsRestored(), reattached(), bytesToGuest(),
                        bytesFromGuest());
    }
}
