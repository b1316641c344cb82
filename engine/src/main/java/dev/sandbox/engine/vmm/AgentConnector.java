package dev.sandbox.engine.vmm;

import dev.sandbox.engine.agent.AgentClient;
import dev.sandbox.engine.agent.AgentCodec;
import dev.sandbox.engine.agent.AgentException;
import dev.sandbox.engine.vmm.devices.virtio.vsock.VsockChannel;
import dev.sandbox.engine.vmm.vstate.StopReason;

import java.io.IOException;
import java.time.Duration;

/**
 * Waits for a booting guest's agent: connects to its vsock port again and again (the device is inactive until the
 * driver is up, and the port refuses until the agent listens) until the handshake succeeds, the VM stops, or the
 * deadline passes. Polling the port needs nothing from the console and is the same check the real client makes.
 */
final class AgentConnector {
    static final Duration RETRY_PAUSE = Duration.ofMillis(20);
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);

    /** Why the agent could not be reached; the caller adds the console tail. */
    static final class NotReady extends Exception {
        NotReady(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private AgentConnector() {
    }

    static AgentClient connect(Microvm vm, long deadlineNanos, Duration callTimeout) throws NotReady {
        Exception last = null;
        while (true) {
            StopReason stopped = vm.stopped().getNow(null);
            if (stopped != null) {
                throw new NotReady("the VM stopped before its agent answered: " + stopped.describe(), last);
            }
            long left = deadlineNanos - System.nanoTime();
            if (left <= 0) {
                throw new NotReady("the agent did not answer on vsock port " + AgentCodec.VSOCK_PORT
                        + " in time" + (last == null ? "" : " (last attempt: " + last + ")"), last);
            }
            try {
                Duration wait = Duration.ofNanos(Math.min(left, CONNECT_TIMEOUT.toNanos()));
                VsockChannel channel = vm.vsock().connect(AgentCodec.VSOCK_PORT, wait);
                return new AgentClient(channel, callTimeout); // owns the channel; closes it if the handshake fails
            } catch (IOException | AgentException e) {
                last = e;
            }
            try {
                Thread.sleep(RETRY_PAUSE);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new NotReady("interrupted while waiting for the agent", e);
            }
        }
    }
}
