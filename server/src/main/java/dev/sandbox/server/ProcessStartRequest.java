package dev.sandbox.server;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A validated {@code POST /v1/sandboxes/{id}/processes} body: the contract's ExecRequest fields {@code cmd} and
 * {@code args} (the one place this body is parsed, so env and cwd join here when exec gains them). No timeout: a
 * background process runs until it exits or is signalled.
 */
record ProcessStartRequest(String cmd, List<String> args) {

    /** Bytes of cmd + args the guest agent takes for one background process (AGENT_MAX_PROC_ARGV). */
    static final int MAX_ARGV_BYTES = 8192;

    static ProcessStartRequest parse(Fields f) {
        String cmd = f.requiredString("cmd");
        if (cmd.isEmpty()) {
            throw Fields.bad("cmd must not be empty");
        }
        List<String> args = f.strings("args").orElse(List.of());
        if (f.integer("timeout_sec").isPresent()) {
            throw Fields.bad("timeout_sec does not apply to a background process: signal it to stop it");
        }
        // The agent passes strings to execve as C strings: a NUL would silently cut them.
        if (cmd.indexOf('\0') >= 0 || args.stream().anyMatch(a -> a.indexOf('\0') >= 0)) {
            throw Fields.bad("cmd and args must not contain NUL characters");
        }
        long bytes = cmd.getBytes(StandardCharsets.UTF_8).length;
        for (String a : args) {
            bytes += a.getBytes(StandardCharsets.UTF_8).length;
        }
        if (bytes > MAX_ARGV_BYTES) {
            throw Fields.bad("cmd and args take " + bytes + " bytes, at most " + MAX_ARGV_BYTES);
        }
        return new ProcessStartRequest(cmd, args);
    }
}
