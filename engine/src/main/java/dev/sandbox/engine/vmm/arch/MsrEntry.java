package dev.sandbox.engine.vmm.arch;

/** One model-specific register value, as in {@code struct kvm_msr_entry}. */
public record MsrEntry(int index, long value) {
}
