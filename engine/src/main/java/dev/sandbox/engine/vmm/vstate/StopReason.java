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

    /** The guest turned itself off: poweroff, halt or reboot. */
    record GuestStopped(String how) implements StopReason {
        @Override
        public String describe() {
            return "the guest stopped: " + how;
        }
    }

    /**
     * The guest crashed: a triple fault (our command line reboots through the i8042, so a shutdown exit is never a
     * reboot the guest asked for) or a kernel panic (which then reboots through the i8042).
     */
    record Crashed(String how) implements StopReason {
        @Override
        public String describe() {
            return "the guest crashed: " + how;
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
