/**
 * The VM and its vCPUs as KVM objects (after Firecracker's {@code vstate}): {@link dev.sandbox.engine.vmm.vstate.Vm}
 * owns the VM fd, guest memory and in-kernel irqchip; {@link dev.sandbox.engine.vmm.vstate.Vcpu} runs one vCPU on its
 * own platform thread, an explicit state machine driven by commands.
 */
package dev.sandbox.engine.vmm.vstate;
