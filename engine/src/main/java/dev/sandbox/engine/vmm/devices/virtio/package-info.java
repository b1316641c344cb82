/**
 * Virtio 1.2 over MMIO: the register interface ({@link dev.sandbox.engine.vmm.devices.virtio.MmioTransport}), split
 * virtqueues ({@link dev.sandbox.engine.vmm.devices.virtio.Queue}) and the device models on top.
 *
 * <p>Everything a guest puts in a virtqueue is untrusted. A descriptor chain is read once, validated whole (indices,
 * loops, every buffer inside guest memory, readable before writable, no indirect descriptors since that feature is
 * not offered) and then used from the copy, so the guest cannot change it under the device. A violation makes the
 * device stop and set DEVICE_NEEDS_RESET; nothing is thrown back into the vCPU loop.
 *
 * <p>Two points are interfaces so the KVM wiring can replace them: a queue notification arrives as
 * {@link dev.sandbox.engine.vmm.devices.virtio.VirtioDevice#queueNotify} (from the MMIO exit, later from an
 * ioeventfd), and a device raises its interrupt through
 * {@link dev.sandbox.engine.vmm.devices.virtio.VirtioInterrupt} (whose line becomes an irqfd).
 */
package dev.sandbox.engine.vmm.devices.virtio;
