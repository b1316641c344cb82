/**
 * virtio-net: {@link dev.sandbox.engine.vmm.devices.virtio.net.VirtioNet} on the shared MMIO transport and split
 * queues, with its host side behind {@link dev.sandbox.engine.vmm.devices.virtio.net.NetBackend} (a TAP from
 * {@code dev.sandbox.ffi.net} in the VMM, an in-memory one in tests).
 *
 * <p>Design choice: the virtio-net header travels with each packet to and from the backend, because a TAP with
 * {@code IFF_VNET_HDR} speaks exactly that; while no offload is negotiated the device rewrites it to a plain header
 * both ways, so neither side can smuggle checksum or segmentation requests through.
 *
 * <p>Not there yet (see the network issue): offloads (CSUM, TSO, MRG_RXBUF) once a benchmark shows they pay; the
 * device thread that polls the TAP and calls {@code backendReadable}; ioeventfd/irqfd wiring in the builder; and
 * snapshots, where the device needs nothing of its own beyond its MAC: the builder must save that MAC and rebuild
 * the device with it before restoring the transport's state.
 */
package dev.sandbox.engine.vmm.devices.virtio.net;
