/**
 * virtio-vsock (virtio 1.2, 5.10) implemented in the VMM, without vhost: the host end of each connection is a
 * blocking {@link dev.sandbox.engine.vmm.devices.virtio.vsock.VsockChannel}, connected to a port the guest listens
 * on. Packets from the guest arrive on the TX queue, packets to it leave through buffers the guest posts on the RX
 * queue; flow control is the spec's credit scheme (each side advertises buf_alloc and how much it has consumed,
 * fwd_cnt). Only host-initiated stream connections are supported: a guest connecting to the host gets RST.
 */
package dev.sandbox.engine.vmm.devices.virtio.vsock;
