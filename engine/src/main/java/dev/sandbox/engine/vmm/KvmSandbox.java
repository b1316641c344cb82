package dev.sandbox.engine.vmm;

import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.Sandbox;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.engine.agent.AgentClient;
import dev.sandbox.engine.agent.ExecRequest;
import dev.sandbox.engine.agent.ExecResult;
import dev.sandbox.engine.vmm.vstate.StopReason;

import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * A booted microVM with its agent connection. Guest calls go to the agent; pause/resume park the vCPUs in memory.
 * When the VM stops on its own (guest reboot/poweroff, KVM failure) the agent connection is closed so calls in flight
 * fail at once instead of waiting for their timeouts.
 */
final class KvmSandbox implements Sandbox {
    private final SandboxSpec spec;
    private final Microvm vm;
    private final AgentClient agent;
    private final Consumer<KvmSandbox> onClose;
    private final Duration bootTime;
    private volatile boolean paused;
    private volatile boolean closed;

    KvmSandbox(SandboxSpec spec, Microvm vm, AgentClient agent, Duration bootTime, Consumer<KvmSandbox> onClose) {
        this.spec = spec;
        this.vm = vm;
        this.agent = agent;
        this.bootTime = bootTime;
        this.onClose = onClose;
        vm.stopped().thenRun(() -> Thread.ofVirtual().name(spec.id() + "-stopped").start(agent::close));
    }

    @Override
    public String id() {
        return spec.id();
    }

    @Override
    public SandboxSpec spec() {
        return spec;
    }

    /** From create to the agent's handshake. */
    public Duration bootTime() {
        return bootTime;
    }

    /** Why the VM stopped, or null while it runs. */
    public StopReason stopReason() {
        return vm.stopped().getNow(null);
    }

    @Override
    public State state() {
        StopReason reason = vm.stopped().getNow(null);
        if (reason != null) {
            return reason instanceof StopReason.Failed ? State.FAILED : State.STOPPED;
        }
        return closed ? State.STOPPED : paused ? State.PAUSED : State.RUNNING;
    }

    @Override
    public ExecResult exec(ExecRequest request) {
        requireRunning("exec");
        return agent.exec(request);
    }

    @Override
    public void writeFile(String path, InputStream content, int mode) {
        requireRunning("writeFile");
        agent.writeFile(path, content, mode);
    }

    @Override
    public long readFile(String path, OutputStream out, long maxBytes) {
        requireRunning("readFile");
        return agent.readFile(path, out, maxBytes, AgentClient.DEFAULT_TIMEOUT);
    }

    /** Round trip to the agent. */
    public Duration ping() {
        requireRunning("ping");
        return agent.ping();
    }

    @Override
    public synchronized void pause() {
        requireRunning("pause");
        try {
            vm.pause();
        } catch (IllegalStateException e) {
            throw new EngineException(EngineException.Kind.VM_FAILED, "pausing " + id() + " failed", e);
        }
        paused = true;
    }

    @Override
    public synchronized void resume() {
        if (state() != State.PAUSED) {
            throw new EngineException(EngineException.Kind.INVALID_STATE, id() + " is " + state() + ", not PAUSED");
        }
        try {
            vm.resume();
        } catch (IllegalStateException e) {
            throw new EngineException(EngineException.Kind.VM_FAILED, "resuming " + id() + " failed", e);
        }
        paused = false;
    }

    @Override
    public String consoleTail() {
        return vm.console().tail();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            agent.close();
            vm.close();
        } finally {
            onClose.accept(this);
        }
    }

    private void requireRunning(String what) {
        State state = state();
        if (state != State.RUNNING) {
            StopReason reason = vm.stopped().getNow(null);
            throw new EngineException(EngineException.Kind.INVALID_STATE, "cannot " + what + ": sandbox " + id()
                    + " is " + state + (reason == null ? "" : " (" + reason.describe() + ")"));
        }
    }
}
