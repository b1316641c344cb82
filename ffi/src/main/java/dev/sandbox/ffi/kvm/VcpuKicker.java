package dev.sandbox.ffi.kvm;

import dev.sandbox.ffi.ThreadSignals;

/**
 * Gets a vCPU thread out of KVM_RUN from any other thread, with no signal handler and no upcall.
 *
 * <p>The vCPU thread installs it: {@link ThreadSignals#KICK_SIGNAL} is blocked in that thread and unblocked only
 * inside KVM_RUN (KVM_SET_SIGNAL_MASK). {@link #kick()} sets {@code immediate_exit} (covers a thread about to
 * enter KVM_RUN) and signals the thread (covers one inside it); either way the next or current KVM_RUN returns
 * {@link VcpuExit.Intr}. The vCPU thread then calls {@link #acknowledge()} before running again. Typical loop:
 *
 * <pre>{@code
 * try (VcpuKicker kicker = VcpuKicker.install(vcpu)) {
 *     while (...) {
 *         switch (vcpu.run()) {
 *             case VcpuExit.Intr i -> { kicker.acknowledge(); handleCommands(); }
 *             ...
 *         }
 *     }
 * }
 * }</pre>
 */
public final class VcpuKicker implements AutoCloseable {
    private final VcpuFd vcpu;
    private final ThreadSignals signals;

    private VcpuKicker(VcpuFd vcpu, ThreadSignals signals) {
        this.vcpu = vcpu;
        this.signals = signals;
    }

    /** Call on the vCPU's own (platform) thread, before its first run. */
    public static VcpuKicker install(VcpuFd vcpu) {
        ThreadSignals signals = ThreadSignals.blockInCurrentThread();
        try {
            vcpu.setSignalMask(signals.kernelMaskWithSignalUnblocked());
        } catch (RuntimeException e) {
            signals.close();
            throw e;
        }
        return new VcpuKicker(vcpu, signals);
    }

    /** Makes the vCPU's current or next KVM_RUN return {@link VcpuExit.Intr}. Any thread; false once closed. */
    public boolean kick() {
        return signals.kick(() -> vcpu.setImmediateExit(true));
    }

    /** Clears the kick (immediate_exit and a pending signal). vCPU thread, after an Intr, before running again. */
    public void acknowledge() {
        vcpu.setImmediateExit(false);
        signals.drain();
    }

    /** vCPU thread, before it exits or closes the vCPU: no kick is sent after this returns. */
    @Override
    public void close() {
        signals.close();
        vcpu.setImmediateExit(false);
    }
}
