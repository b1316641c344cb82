/**
 * KVM through FFM, in two tiers (after rust-vmm).
 *
 * <p>Raw tier: {@link dev.sandbox.ffi.kvm.KvmAbi} (struct layouts, each under its C definition),
 * {@link dev.sandbox.ffi.kvm.KvmIoctls} (request numbers from {@code _IO/_IOR/_IOW/_IOWR}) and
 * {@link dev.sandbox.ffi.kvm.KvmConstants}; a test checks every one against {@code <linux/kvm.h>}.
 *
 * <p>Safe tier: one owner per fd kind, {@link dev.sandbox.ffi.kvm.Kvm} → {@link dev.sandbox.ffi.kvm.VmFd} →
 * {@link dev.sandbox.ffi.kvm.VcpuFd}, trading in plain records ({@link dev.sandbox.ffi.kvm.Regs},
 * {@link dev.sandbox.ffi.kvm.Sregs}, ...) so callers never do pointer math. {@code KVM_RUN} returns a
 * {@link dev.sandbox.ffi.kvm.VcpuExit}; {@link dev.sandbox.ffi.kvm.VcpuKicker} gets a vCPU thread out of it.
 */
package dev.sandbox.ffi.kvm;
