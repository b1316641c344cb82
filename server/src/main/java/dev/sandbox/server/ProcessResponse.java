package dev.sandbox.server;

import dev.sandbox.engine.agent.ProcessInfo;

import java.time.Instant;
import java.util.List;

/**
 * A background process as the API shows it (openapi-extensions.yaml, Process): {@code status} running or exited,
 * {@code exit_code} only once exited (128 + signal when a signal ended it).
 */
record ProcessResponse(int pid, String cmd, List<String> args, String status, Integer exitCode, Instant startedAt) {

    static ProcessResponse of(ProcessInfo p) {
        return new ProcessResponse(p.pid(), p.cmd(), p.args(), p.running() ? "running" : "exited",
                p.running() ? null : p.exitCode(), p.startedAt());
    }
}
