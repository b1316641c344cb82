package dev.sandbox.engine.agent;

import dev.sandbox.engine.agent.AgentException.Kind;
import java.time.Duration;
import java.util.List;

/**
 * The background process calls of {@link AgentClient} (protocol version 3): start, list, signal, read output. The
 * processes belong to the agent, not to this connection: a new connection (after a resume) sees the same ones. On
 * an older connection they fail with UNSUPPORTED before anything is sent.
 */
final class AgentProcs {

    private final Calls calls;
    private final int version;

    AgentProcs(Calls calls, int version) {
        this.calls = calls;
        this.version = version;
    }

    ProcessInfo start(String cmd, List<String> args, List<String> env, String cwd, Duration timeout) {
        requireVersion("start process");
        List<AgentMessage.Proc> procs = calls.simple(new AgentMessage.ProcStart(cmd, args, env, cwd == null ? "" : cwd),
                AgentMessage.Procs.class, timeout, "start " + cmd).procs();
        if (procs.size() != 1) {
            throw new AgentException(Kind.PROTOCOL, "a process start answered " + procs.size() + " entries");
        }
        return ProcessInfo.of(procs.getFirst());
    }

    List<ProcessInfo> list(Duration timeout) {
        requireVersion("list processes");
        return calls.simple(new AgentMessage.ProcList(), AgentMessage.Procs.class, timeout, "list processes").procs()
                .stream().map(ProcessInfo::of).toList();
    }

    boolean signal(int pid, ProcessSignal signal, Duration timeout) {
        requireVersion("signal process");
        return calls.simple(new AgentMessage.ProcSignal(pid, signal.number()), AgentMessage.SignalOk.class, timeout,
                "signal " + pid).delivered();
    }

    /** Waits in the guest up to {@code wait} for something new; the call's deadline is that plus {@code timeout}. */
    ProcessOutput read(int pid, long stdoutOffset, long stderrOffset, int maxBytes, Duration wait, Duration timeout) {
        requireVersion("read process output");
        int max = Math.clamp(maxBytes, 0, AgentCodec.CHUNK);
        int waitMs = (int) Math.clamp(wait.toMillis(), 0, 30_000);
        AgentMessage.ProcOutput o = calls.simple(
                new AgentMessage.ProcRead(pid, stdoutOffset, stderrOffset, max, waitMs), AgentMessage.ProcOutput.class,
                timeout.plusMillis(waitMs), "read output of " + pid);
        if (o.stdout().length > max || o.stderr().length > max || o.stdoutOffset() < stdoutOffset
                && o.stdout().length > 0 || o.stderrOffset() < stderrOffset && o.stderr().length > 0) {
            throw new AgentException(Kind.PROTOCOL, "process output beyond what was asked for");
        }
        return new ProcessOutput(o.stdoutOffset(), o.stdout(), o.stderrOffset(), o.stderr(), o.exited(),
                o.exitCode(), o.signal());
    }

    private void requireVersion(String what) {
        if (version < AgentCodec.PROCESSES_VERSION) {
            throw new AgentException(Kind.UNSUPPORTED, what + ": the guest agent speaks protocol version " + version
                    + "; background processes need version " + AgentCodec.PROCESSES_VERSION
                    + " (a sandbox made before they existed: recreate it)");
        }
    }
}
