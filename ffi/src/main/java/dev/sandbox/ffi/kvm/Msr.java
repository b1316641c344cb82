package dev.sandbox.ffi.kvm;

/** One model-specific register: {@code struct kvm_msr_entry}. */
public record Msr(int index, long data) {}
