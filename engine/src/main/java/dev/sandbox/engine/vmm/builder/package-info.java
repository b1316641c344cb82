/**
 * Assembles a bootable microVM from a spec (after Firecracker's {@code builder}): guest memory with kernel, initrd,
 * command line and boot tables; configured vCPUs; the legacy and virtio devices on their buses with their IRQs.
 */
package dev.sandbox.engine.vmm.builder;
