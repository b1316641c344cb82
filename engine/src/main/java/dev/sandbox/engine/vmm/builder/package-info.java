/**
 * Assembles a bootable microVM from a spec (after Firecracker's {@code builder}): guest memory with kernel, initrd,
 * command line and boot tables; configured vCPUs; the legacy and virtio devices on their buses with their IRQs
 * (virtio slots: 0 vsock, 1 rng, 2 net).
 *
 * <p>Device threads per microVM: {@link dev.sandbox.engine.vmm.builder.DeviceEvents} (queue notifications through
 * ioeventfds), the vsock worker, and for a NIC whose backend has a descriptor a
 * {@link dev.sandbox.engine.vmm.builder.BackendWatch} that polls it. All stop before a snapshot; the vsock worker and
 * the backend watch start again when the VM is revived.
 */
package dev.sandbox.engine.vmm.builder;
