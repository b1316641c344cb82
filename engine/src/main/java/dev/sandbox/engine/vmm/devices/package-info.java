/**
 * Device plumbing shared by all device models: {@link dev.sandbox.engine.vmm.devices.Bus} routes a vCPU's port I/O or
 * MMIO exit to the {@link dev.sandbox.engine.vmm.devices.BusDevice} owning the address, and
 * {@link dev.sandbox.engine.vmm.devices.IrqLine} is how a device raises its interrupt (an irqfd once wired to KVM).
 */
package dev.sandbox.engine.vmm.devices;
