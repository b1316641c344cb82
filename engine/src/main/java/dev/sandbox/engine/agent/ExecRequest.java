package dev.sandbox.engine.agent;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One command for the agent: {@code cmd} (looked up in PATH unless it contains a '/') with {@code args}, run with
 * execve, not through a shell; use {@link #shell} for a command line. {@code env} entries are added to the agent's
 * environment; {@code cwd} null means "/"; {@code stdin} is fed to the process, then closed. Output beyond the caps
 * is dropped and flagged; at the timeout the process group is killed.
 */
public record ExecRequest(String cmd, List<String> args, Map<String, String> env, String cwd, byte[] stdin,
                          Duration timeout, int stdoutCap, int stderrCap) {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    public static final int DEFAULT_OUTPUT_CAP = 10 * 1024 * 1024;

    public ExecRequest {
        Objects.requireNonNull(cmd, "cmd");
        if (cmd.isEmpty()) {
            throw new IllegalArgumentException("empty cmd");
        }
        args = List.copyOf(args == null ? List.of() : args);
        env = env == null ? Map.of() : Map.copyOf(new LinkedHashMap<>(env));
        for (String k : env.keySet()) {
            if (k.isEmpty() || k.indexOf('=') >= 0) {
                throw new IllegalArgumentException("bad environment variable name: " + k);
            }
        }
        stdin = stdin == null ? new byte[0] : stdin;
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive");
        }
        if (stdoutCap < 0 || stderrCap < 0) {
            throw new IllegalArgumentException("negative output cap");
        }
    }

    public static ExecRequest of(String cmd, String... args) {
        return new ExecRequest(cmd, List.of(args), Map.of(), null, null, DEFAULT_TIMEOUT, DEFAULT_OUTPUT_CAP,
                DEFAULT_OUTPUT_CAP);
    }

    /** {@code /bin/sh -c script}. */
    public static ExecRequest shell(String script) {
        return of("/bin/sh", "-c", script);
    }

    public ExecRequest withEnv(Map<String, String> newEnv) {
        return new ExecRequest(cmd, args, newEnv, cwd, stdin, timeout, stdoutCap, stderrCap);
    }

    public ExecRequest withCwd(String newCwd) {
        return new ExecRequest(cmd, args, env, newCwd, stdin, timeout, stdoutCap, stderrCap);
    }

    public ExecRequest withStdin(byte[] newStdin) {
        return new ExecRequest(cmd, args, env, cwd, newStdin, timeout, stdoutCap, stderrCap);
    }

    public ExecRequest withTimeout(Duration newTimeout) {
        return new ExecRequest(cmd, args, env, cwd, stdin, newTimeout, stdoutCap, stderrCap);
    }

    /** The same cap for stdout and stderr. */
    public ExecRequest withOutputCap(int cap) {
        return new ExecRequest(cmd, args, env, cwd, stdin, timeout, cap, cap);
    }

    /** The wire message (timeout in whole milliseconds, at least 1). */
    AgentMessage.Exec toMessage() {
        long ms = Math.max(1, Math.min(timeout.toMillis(), 0xFFFF_FFFFL));
        List<String> envList = env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
        return new AgentMessage.Exec((int) ms, stdoutCap, stderrCap, cmd, args, envList, cwd == null ? "" : cwd,
                stdin);
    }
}
