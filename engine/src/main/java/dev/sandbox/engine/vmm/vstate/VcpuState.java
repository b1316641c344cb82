package dev.sandbox.engine.vmm.vstate;

/** The vCPU thread's states and the transitions its commands cause; FINISHED is final. */
public enum VcpuState {
    /** In or about to enter KVM_RUN. */
    RUNNING,
    /** Out of KVM_RUN, blocked on its command queue; registers and memory stay as they were. */
    PAUSED,
    /** The thread has left (stopped, or the guest shut down, or KVM failed). */
    FINISHED;

    /** The state after {@code command} is applied in this state. */
    public VcpuState on(VcpuCommand command) {
        if (this == FINISHED) {
            return FINISHED;
        }
        return switch (command) {
            case PAUSE -> PAUSED;
            case RESUME -> RUNNING;
            case STOP -> FINISHED;
        };
    }
}
