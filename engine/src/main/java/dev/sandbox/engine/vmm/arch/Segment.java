package dev.sandbox.engine.vmm.arch;

/**
 * A segment register as KVM's {@code struct kvm_segment} holds it: the descriptor fields unpacked, the limit already
 * scaled by the granularity bit.
 */
public record Segment(long base, int limit, int selector, int type, boolean present, int dpl, boolean db, boolean s,
                      boolean l, boolean g, boolean avl) {
    /** KVM's {@code unusable} flag: a segment that is not present cannot be used. */
    public boolean unusable() {
        return !present;
    }
}
