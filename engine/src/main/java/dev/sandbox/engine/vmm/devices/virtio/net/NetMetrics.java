package dev.sandbox.engine.vmm.devices.virtio.net;

/**
 * Counters of one virtio-net device since it was created. Bytes count Ethernet frames without the virtio-net header.
 *
 * @param txDropped   well-formed guest packets the backend would not take
 * @param txMalformed guest packets refused: device-writable buffers, a short header, an oversized frame, or an
 *                    offload that was not negotiated
 * @param rxDropped   packets for the guest dropped: too large for the guest's buffer, or asking for an offload the
 *                    guest did not negotiate
 * @param rxBadBuffers receive buffers the guest offered with device-readable parts, returned unused
 */
public record NetMetrics(long txFrames, long txBytes, long txDropped, long txMalformed, long rxFrames, long rxBytes,
                         long rxDropped, long rxBadBuffers) {
}
