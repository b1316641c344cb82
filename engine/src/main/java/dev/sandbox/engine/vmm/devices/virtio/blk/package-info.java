/**
 * virtio-blk with copy-on-write inside the VMM: {@link dev.sandbox.engine.vmm.devices.virtio.blk.VirtioBlk} on the
 * shared MMIO transport and split queues, its host side behind
 * {@link dev.sandbox.engine.vmm.devices.virtio.blk.BlockBackend}, and
 * {@link dev.sandbox.engine.vmm.devices.virtio.blk.OverlayDisk}: a read-only base image (one per template), read-only
 * lower overlays (a template's own writes, shared by its clones) and one writable top overlay per sandbox.
 *
 * <p>On disk an overlay layer is a sparse data file holding 4 KiB blocks at their disk offsets plus a sidecar map
 * ({@code <layer>.map}, see {@code LayerMap}) listing the blocks it holds, replaced atomically on flush. A snapshot
 * keeps a {@link dev.sandbox.engine.vmm.devices.virtio.blk.DiskState} (encoded by
 * {@link dev.sandbox.engine.vmm.devices.virtio.blk.DiskStateCodec}): the base's size and modification time and each
 * layer's checksum, so a restore notices a replaced, damaged or missing file and says which.
 *
 * <p>Design choice: the device is synchronous, each request served inside the queue notification with the data
 * moved by pread/pwrite straight between the files and guest memory (no staging copy, no I/O thread). Stopping the
 * notifying threads is then enough to have no request in flight when the disk is synced for a snapshot.
 */
package dev.sandbox.engine.vmm.devices.virtio.blk;
