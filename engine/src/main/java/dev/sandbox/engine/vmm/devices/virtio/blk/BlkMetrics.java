package dev.sandbox.engine.vmm.devices.virtio.blk;

/**
 * Counters of one virtio-blk device since it was created; requests count once each, bytes count data only.
 *
 * @param errors        requests answered IOERR (malformed, out of range, or failed in the backend) or returned
 *                      without a status because the chain had no byte for one
 * @param backendErrors the part of {@code errors} where the backend failed: the host's disk, not the guest
 * @param unsupported   requests of a type the device does not implement, answered UNSUPP
 */
public record BlkMetrics(long reads, long writes, long flushes, long bytesRead, long bytesWritten, long errors,
                         long backendErrors, long unsupported) {
}
