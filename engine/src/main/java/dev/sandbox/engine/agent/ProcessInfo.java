package dev.sandbox.engine.agent;

import java.time.Instant;
import java.util.List;

/**
 * A background process in the guest: {@code pid} is the guest's; {@code exitCode} and {@code signal} mean something
 * once it is not {@code running} ({@code exitCode} is 128 + signal when a signal ended it).
 */
public record ProcessInfo(int pid, String cmd, List<String> args, boolean running, int exitCode, int signal,
                          Instant startedAt) {
    public ProcessInfo {
        args = List.copyOf(args);
    }

    static ProcessInfo of(AgentMessage.Proc p) {
        return new ProcessInfo(p.pid(), p.cmd(), p.args(), p.state() == AgentMessage.Proc.RUNNING, p.exitCode(),
                p.signal(), Instant.ofEpochMilli(p.startedMillis()));
    }
}
