package dev.sandbox.engine.vmm.vstate;

/** What the vCPU loop does after an exit was handled. */
public sealed interface ExitOutcome {
    /** Handled: enter the guest again. */
    record Continue() implements ExitOutcome {
    }

    /** A kick: acknowledge it, look at the command queue, then run again. */
    record Kicked() implements ExitOutcome {
    }

    /** This vCPU cannot run on: the VM stops. */
    record Stop(StopReason reason) implements ExitOutcome {
    }

    ExitOutcome CONTINUE = new Continue();
    ExitOutcome KICKED = new Kicked();
}
