package dev.sandbox.server;

import dev.sandbox.engine.agent.AgentException;
import dev.sandbox.engine.agent.ProcessInfo;
import dev.sandbox.engine.agent.ProcessOutput;
import dev.sandbox.engine.agent.ProcessSignal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * TEST DOUBLE of the agent's background process table for {@link FakeEngine}: host processes (cwd = the sandbox's
 * folder) with the agent's bounds: at most {@code maxRunning} running (then BUSY), 16 exited remembered, the last
 * {@code buffer} bytes of each stream kept, offsets from the start. They live through the fake's pause/resume, as
 * the guest's do through a snapshot; {@link #close} kills them.
 */
final class FakeProcesses {

    static final int MAX_EXITED = 16;

    private final Path root;
    private final int maxRunning;
    private final int buffer;
    private final Map<Integer, Proc> procs = new java.util.LinkedHashMap<>(); // start order; guarded by this

    FakeProcesses(Path root, int maxRunning, int buffer) {
        this.root = root;
        this.maxRunning = maxRunning;
        this.buffer = buffer;
    }

    /** One stream's last {@code buffer} bytes; {@code total} counts every byte ever written. */
    private static final class Tail {
        private byte[] kept = new byte[0];
        private long total;

        void add(byte[] b, int n, int cap) {
            byte[] all = Arrays.copyOf(kept, kept.length + n);
            System.arraycopy(b, 0, all, kept.length, n);
            kept = all.length > cap ? Arrays.copyOfRange(all, all.length - cap, all.length) : all;
            total += n;
        }

        long oldest() {
            return total - kept.length;
        }

        byte[] from(long off, int max) {
            int start = (int) (Math.max(off, oldest()) - oldest());
            return Arrays.copyOfRange(kept, Math.min(start, kept.length), Math.min(kept.length, start + max));
        }
    }

    private final class Proc {
        final Process process;
        final String cmd;
        final List<String> args;
        final Instant started = Instant.now();
        final Tail[] tails = {new Tail(), new Tail()};
        final Thread[] pumps = new Thread[2];

        Proc(Process process, String cmd, List<String> args) {
            this.process = process;
            this.cmd = cmd;
            this.args = args;
            pumps[0] = pump(process.getInputStream(), tails[0]);
            pumps[1] = pump(process.getErrorStream(), tails[1]);
        }

        private Thread pump(InputStream in, Tail tail) {
            return Thread.ofVirtual().start(() -> {
                byte[] buf = new byte[8192];
                try (in) {
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        synchronized (FakeProcesses.this) {
                            tail.add(buf, n, buffer);
                            FakeProcesses.this.notifyAll();
                        }
                    }
                } catch (IOException ignored) {
                    // killed: keep what came
                }
            });
        }

        /** Exited, and both streams drained (as the agent: the exit comes after all the output). */
        boolean done() {
            return !process.isAlive() && !pumps[0].isAlive() && !pumps[1].isAlive();
        }

        ProcessInfo info() {
            boolean running = !done();
            return new ProcessInfo((int) process.pid(), cmd, args, running, running ? 0 : process.exitValue(),
                    running || process.exitValue() <= 128 ? 0 : process.exitValue() - 128, started);
        }
    }

    synchronized ProcessInfo start(String cmd, List<String> args, java.util.Map<String, String> env, Path dir) {
        long running = procs.values().stream().filter(p -> !p.done()).count();
        if (running >= maxRunning) {
            throw new AgentException(AgentException.Kind.BUSY, maxRunning + " background processes are running");
        }
        List<String> command = new ArrayList<>();
        command.add(cmd);
        command.addAll(args);
        Process process;
        try {
            ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.environment().putAll(env);
            process = pb.start();
        } catch (IOException e) {
            // the agent starts it anyway and it exits 127: close enough for the server's tests
            process = startOrThrow(List.of("sh", "-c", "echo \"$0: command not found\" >&2; exit 127", cmd));
        }
        Proc p = new Proc(process, cmd, List.copyOf(args));
        procs.put((int) process.pid(), p);
        process.onExit().thenRun(this::wake);
        forgetOld();
        return p.info();
    }

    private Process startOrThrow(List<String> command) {
        try {
            return new ProcessBuilder(command).directory(root.toFile()).start();
        } catch (IOException e) {
            throw new AgentException(AgentException.Kind.IO, e.getMessage(), e);
        }
    }

    private synchronized void wake() {
        notifyAll();
    }

    private void forgetOld() {
        List<Integer> exited = procs.entrySet().stream().filter(e -> e.getValue().done()).map(Map.Entry::getKey)
                .toList();
        for (int i = 0; i < exited.size() - MAX_EXITED; i++) {
            procs.remove(exited.get(i));
        }
    }

    synchronized List<ProcessInfo> list() {
        forgetOld();
        return procs.values().stream().map(Proc::info).toList();
    }

    private Proc find(int pid) {
        Proc p = procs.get(pid);
        if (p == null) {
            throw new AgentException(AgentException.Kind.NOT_FOUND, "no background process " + pid);
        }
        return p;
    }

    boolean signal(int pid, ProcessSignal signal) {
        Proc p;
        synchronized (this) {
            p = find(pid);
            if (!p.process.isAlive()) {
                return false;
            }
        }
        try {
            new ProcessBuilder("kill", "-" + signal.name(), String.valueOf(pid)).start().waitFor();
        } catch (IOException e) {
            throw new AgentException(AgentException.Kind.IO, e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AgentException(AgentException.Kind.INTERRUPTED, "interrupted");
        }
        return true;
    }

    synchronized ProcessOutput read(int pid, long stdoutOffset, long stderrOffset, int maxBytes, Duration wait) {
        Proc p = find(pid);
        long deadline = System.nanoTime() + wait.toNanos();
        try {
            while (p.tails[0].total <= stdoutOffset && p.tails[1].total <= stderrOffset && !p.done()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                wait(Math.max(1, Math.min(left / 1_000_000, 50))); // pumps finishing do not notify: poll too
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AgentException(AgentException.Kind.INTERRUPTED, "interrupted");
        }
        long o = Math.min(Math.max(stdoutOffset, p.tails[0].oldest()), p.tails[0].total);
        long e = Math.min(Math.max(stderrOffset, p.tails[1].oldest()), p.tails[1].total);
        byte[] out = p.tails[0].from(o, maxBytes);
        byte[] err = p.tails[1].from(e, maxBytes);
        boolean exited = p.done() && o + out.length == p.tails[0].total && e + err.length == p.tails[1].total;
        ProcessInfo info = p.info();
        return new ProcessOutput(o, out, e, err, exited, info.exitCode(), info.signal());
    }

    synchronized void close() {
        procs.values().forEach(p -> {
            p.process.descendants().forEach(ProcessHandle::destroyForcibly);
            p.process.destroyForcibly();
        });
        procs.clear();
    }
}
