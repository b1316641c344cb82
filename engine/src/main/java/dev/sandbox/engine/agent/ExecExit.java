package dev.sandbox.engine.agent;

import java.time.Duration;

/**
 * How an exec ended. {@code exitCode} is the exit status, or 128 + {@code signal} when a signal ended the process
 * (then {@code signal} is non-zero); 127 means the command was not found, 126 not executable.
 */
public record ExecExit(int exitCode, int signal, boolean timedOut, boolean stdoutTruncated, boolean stderrTruncated,
                       Duration duration) {

    static ExecExit of(AgentMessage.Exit x) {
        return new ExecExit(x.exitCode(), x.signal(), (x.flags() & AgentMessage.Exit.TIMED_OUT) != 0,
                (x.flags() & AgentMessage.Exit.STDOUT_TRUNCATED) != 0,
                (x.flags() & AgentMessage.Exit.STDERR_TRUNCATED) != 0, Duration.ofNanos(x.durationNanos()));
    }
}
