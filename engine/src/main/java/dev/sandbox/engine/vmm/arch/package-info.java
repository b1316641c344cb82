/**
 * x86-64 boot: everything the VMM writes into guest memory and vCPU registers before the first {@code KVM_RUN},
 * modelled on Firecracker's {@code arch/x86_64}. Guest addresses are named in {@link dev.sandbox.engine.vmm.arch.Layout}
 * only; register and CPUID values are records that the KVM layer copies into its structures.
 */
package dev.sandbox.engine.vmm.arch;
