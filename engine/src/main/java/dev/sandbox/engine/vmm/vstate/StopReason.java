package dev.sandbox.engine.vmm.vstate;

/** Why a VM stopped running. */
public sealed interface StopReason {
    String describe();

    /** The VMM was asked to stop (destroy). */
    record Requested() implements StopReason {
        @Override
        public String describe() {
            return "stopped by the host";
        }
    }

    /** The guest turned itself off: reboot through the i8042, a shutdown exit, a triple fault. */
    record GuestStopped(String how) implements StopReason {
        @Override
        public String describe() {
            return "the guest stopped: " + how;
        }
    }

    /** KVM or the VMM failed; {@code details} says how (exit kind, registers). */
    record Failed(String details) implements StopReason {
        @Override
        public String describe() {
            return "the VM failed: " + details;
        }
    }
}
