package dev.sandbox.engine.vmm.vstate;

/** What another thread asks a vCPU thread to do; delivered over its queue with a kick. */
public enum VcpuCommand {
    PAUSE, RESUME, STOP
}
