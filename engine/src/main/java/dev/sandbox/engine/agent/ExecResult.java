package dev.sandbox.engine.agent;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** A finished exec with its collected output (at most the request's caps; the flags say when more was dropped). */
public record ExecResult(byte[] stdout, byte[] stderr, int exitCode, int signal, boolean timedOut,
                         boolean stdoutTruncated, boolean stderrTruncated, Duration duration) {

    static ExecResult of(byte[] stdout, byte[] stderr, ExecExit x) {
        return new ExecResult(stdout, stderr, x.exitCode(), x.signal(), x.timedOut(), x.stdoutTruncated(),
                x.stderrTruncated(), x.duration());
    }

    /** stdout decoded as UTF-8 (malformed bytes replaced). */
    public String stdoutText() {
        return new String(stdout, StandardCharsets.UTF_8);
    }

    public String stderrText() {
        return new String(stderr, StandardCharsets.UTF_8);
    }

    public boolean succeeded() {
        return exitCode == 0 && !timedOut;
    }
}
