/**
 * virtio-net: {@link dev.sandbox.engine.vmm.devices.virtio.net.VirtioNet} on the shared MMIO transport and split
 * queues, with its host side behind {@link dev.sandbox.engine.vmm.devices.virtio.net.NetBackend}:
 * {@link dev.sandbox.engine.vmm.devices.virtio.net.TapBackend} over a TAP from {@code dev.sandbox.ffi.net},
 * {@link dev.sandbox.engine.vmm.devices.virtio.net.DisconnectedBackend} for a sandbox without a network, an
 * in-memory one in tests.
 *
 * <p>Design choice: the virtio-net header travels with each packet to and from the backend, because a TAP with
 * {@code IFF_VNET_HDR} speaks exactly that; while no offload is negotiated the device rewrites it to a plain header
 * both ways, so neither side can smuggle checksum or segmentation requests through.
 *
 * <p>Wiring (in {@code vmm.builder}): every microVM has the device in virtio slot 2 with the fixed guest MAC; a
 * thread per NIC polls the backend's descriptor and calls {@code backendReadable}, stopping while the device waits
 * for guest buffers. Snapshots need nothing of the device beyond its transport's state.
 *
 * <p>Not there yet (see the network issue): offloads (CSUM, TSO, MRG_RXBUF) once a benchmark shows they pay.
 */
package dev.sandbox.engine.vmm.devices.virtio.net;
