package dev.sandbox.server;

import java.util.List;

/** A validated {@code ExecRequest}: {@code cmd} run with execve (PATH lookup), {@code args}, a timeout. */
record ExecCommand(String cmd, List<String> args, int timeoutSec) {

    static final int DEFAULT_TIMEOUT_SEC = 30;

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
        return new ExecCommand(cmd, args, timeoutSec);
    }
}
