/**
 * virtio-vsock (virtio 1.2, 5.10) implemented in the VMM, without vhost: the host end of each connection is a
 * blocking {@link dev.sandbox.engine.vmm.devices.virtio.vsock.VsockChannel}, connected to a port the guest listens
 * on. Packets from the guest arrive on the TX queue, packets to it leave through buffers the guest posts on the RX
 * queue; flow control is the spec's credit scheme (each side advertises buf_alloc and how much it has consumed,
 * fwd_cnt). Only host-initiated stream connections are supported: a guest connecting to the host gets RST.
 *
 * <p>The host end lives in our process, so a snapshot can keep a connection: the host lets go of its channels
 * ({@code detachHostChannels}), the device's {@code VsockState} (ports, credit counters, bytes buffered each way)
 * goes into the vmstate, and after a restore the host takes the stream up again ({@code reattach}) while the
 * guest's socket never noticed. A snapshot without that state gets the spec's transport reset instead.
 */
package dev.sandbox.engine.vmm.devices.virtio.vsock;
