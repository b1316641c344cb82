package dev.sandbox.server;

import dev.sandbox.engine.agent.AgentCodec;
import dev.sandbox.engine.agent.ExecRequest;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A validated {@code ExecRequest}: {@code cmd} run with execve (PATH lookup), {@code args}, a timeout, and the
 * extensions {@code env} (added to the guest agent's environment), {@code cwd} (absolute; null means "/") and
 * {@code stdin} (written to the command, then closed).
 */
record ExecCommand(String cmd, List<String> args, int timeoutSec, Map<String, String> env, String cwd,
                   String stdin) {

    static final int DEFAULT_TIMEOUT_SEC = 30;
    /** The names a POSIX shell passes on: anything else is refused rather than silently lost in a child shell. */
    static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    ExecCommand {
        env = Map.copyOf(env);
        args = List.copyOf(args);
    }

    static ExecCommand parse(Fields f, int maxTimeoutSec) {
        String cmd = f.requiredString("cmd");
        if (cmd.isEmpty()) {
            throw Fields.bad("cmd must not be empty");
        }
        List<String> args = f.strings("args").orElse(List.of());
        int timeoutSec = f.integer("timeout_sec").orElse(DEFAULT_TIMEOUT_SEC);
        if (timeoutSec < 1 || timeoutSec > maxTimeoutSec) {
            throw Fields.bad("timeout_sec must be 1.." + maxTimeoutSec + ", got " + timeoutSec);
        }
        // The agent passes strings to execve as C strings: a NUL would silently cut them.
        if (cmd.indexOf('\0') >= 0 || args.stream().anyMatch(a -> a.indexOf('\0') >= 0)) {
            throw Fields.bad("cmd and args must not contain NUL characters");
        }
        Map<String, String> env = env(f);
        String cwd = cwd(f);
        String stdin = f.string("stdin").orElse(null);
        ExecCommand command = new ExecCommand(cmd, args, timeoutSec, env, cwd, stdin);
        long size = command.frameBytes();
        if (size > AgentCodec.MAX_PAYLOAD) {
            throw ApiError.TOO_LARGE.exception("the command (cmd, args, env, cwd and stdin together) takes " + size
                    + " bytes to send to the guest; at most " + AgentCodec.MAX_PAYLOAD);
        }
        return command;
    }

    /** The {@code env} extension: an object of strings with plain names (exec and background processes alike). */
    static Map<String, String> env(Fields f) {
        Map<String, String> env = f.stringMap("env").orElse(Map.of());
        env.forEach((name, value) -> {
            if (!ENV_NAME.matcher(name).matches()) {
                throw Fields.bad("env: bad variable name '" + name + "' (letters, digits and _, not first a digit)");
            }
            if (value.indexOf('\0') >= 0) {
                throw Fields.bad("env: " + name + " must not contain NUL characters");
            }
        });
        return env;
    }

    /** The {@code cwd} extension: absolute, or null for "/". */
    static String cwd(Fields f) {
        String cwd = f.string("cwd").orElse(null);
        if (cwd != null && (cwd.isEmpty() || !cwd.startsWith("/"))) {
            throw Fields.bad("cwd must be an absolute path, got '" + cwd + "'");
        }
        if (cwd != null && (cwd.indexOf('\0') >= 0 || cwd.length() > GuestPath.MAX_LENGTH)) {
            throw Fields.bad("cwd must be at most " + GuestPath.MAX_LENGTH + " characters without NUL");
        }
        return cwd;
    }

    /** The engine's request, output capped at {@code outputCap} per stream. */
    ExecRequest toRequest(int outputCap) {
        byte[] in = stdin == null ? null : stdin.getBytes(StandardCharsets.UTF_8);
        return new ExecRequest(cmd, args, env, cwd, in, Duration.ofSeconds(timeoutSec), outputCap, outputCap);
    }

    /** The agent's EXEC payload size (protocol.h): three u32s, then u32-length-prefixed strings and bytes. */
    private long frameBytes() {
        long n = 3 * 4 + str(cmd) + 4 + 4 + envAndCwdBytes(env, cwd) + str(stdin);
        for (String a : args) {
            n += str(a);
        }
        return n;
    }

    /** What env ("NAME=value" strings) and cwd add to an agent frame, exec's or a background process's. */
    static long envAndCwdBytes(Map<String, String> env, String cwd) {
        long n = str(cwd);
        for (Map.Entry<String, String> e : env.entrySet()) {
            n += str(e.getKey() + "=" + e.getValue());
        }
        return n;
    }

    private static long str(String s) {
        return 4 + (s == null ? 0 : s.getBytes(StandardCharsets.UTF_8).length);
    }
}
