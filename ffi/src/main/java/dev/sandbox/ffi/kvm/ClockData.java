package dev.sandbox.ffi.kvm;

/**
 * The VM's kvmclock: {@code struct kvm_clock_data}. {@code realtime} and {@code hostTsc} are valid only when
 * {@code flags} says so (KVM_CLOCK_REALTIME, KVM_CLOCK_HOST_TSC); KVM_SET_CLOCK uses {@code clock} and flags.
 */
public record ClockData(long clock, int flags, long realtime, long hostTsc) {}
