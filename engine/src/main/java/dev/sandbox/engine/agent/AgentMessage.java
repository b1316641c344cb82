package dev.sandbox.engine.agent;

import java.util.List;

/**
 * Every frame of the agent protocol, one record per frame type ({@code protocol.h} documents the bytes). Requests
 * go host to agent, replies agent to host; the request id travels beside the message in
 * {@link AgentCodec.Frame}. Records holding {@code byte[]} compare by identity, as arrays do.
 */
public sealed interface AgentMessage {

    /** The frame type byte. */
    int type();

    /** Host to agent. */
    sealed interface Request extends AgentMessage {}

    /** Agent to host. */
    sealed interface Reply extends AgentMessage {}

    /** A reply that ends its request. */
    sealed interface Final extends Reply {}

    // ---- requests ----

    record Hello(int magic, int minVersion, int maxVersion) implements Request {
        /** Offers every version this side speaks; the agent picks the highest it shares. */
        public static Hello current() {
            return new Hello(AgentCodec.MAGIC, AgentCodec.MIN_PROTOCOL_VERSION, AgentCodec.PROTOCOL_VERSION);
        }

        public int type() {
            return 0x01;
        }
    }

    record Ping(byte[] data) implements Request {
        public int type() {
            return 0x02;
        }
    }

    /** {@code env} entries are {@code KEY=VALUE}; {@code cwd} "" means "/". */
    record Exec(int timeoutMs, int stdoutCap, int stderrCap, String cmd, List<String> args, List<String> env,
                String cwd, byte[] stdin) implements Request {
        public Exec {
            args = List.copyOf(args);
            env = List.copyOf(env);
        }

        public int type() {
            return 0x03;
        }
    }

    record WriteOpen(String path, int mode) implements Request {
        public int type() {
            return 0x04;
        }
    }

    record WriteData(byte[] data) implements Request {
        public int type() {
            return 0x05;
        }
    }

    record WriteEnd() implements Request {
        public int type() {
            return 0x06;
        }
    }

    record Read(String path, long maxBytes) implements Request {
        public int type() {
            return 0x07;
        }
    }

    record Clock(long seconds, int nanos) implements Request {
        public int type() {
            return 0x08;
        }
    }

    record Entropy(byte[] data) implements Request {
        public int type() {
            return 0x09;
        }
    }

    record Quiesce() implements Request {
        public int type() {
            return 0x0A;
        }
    }

    /** Sent with the id of the request to cancel; has no reply of its own. */
    record Cancel() implements Request {
        public int type() {
            return 0x0B;
        }
    }

    /** Version 2: lists the directory at {@code path}, at most {@code maxEntries} entries. */
    record ListDir(String path, int maxEntries) implements Request {
        public int type() {
            return 0x0C;
        }
    }

    /** Version 2: {@code mkdir -p} with {@code mode} for the last directory. */
    record Mkdir(String path, int mode) implements Request {
        public int type() {
            return 0x0D;
        }
    }

    /** Version 2: removes a file, symlink or directory ({@link #RECURSIVE}: with everything below it). */
    record Remove(String path, int flags) implements Request {
        public static final int RECURSIVE = 1;

        public int type() {
            return 0x0E;
        }
    }

    /** Version 3: starts a background process ({@code env} entries {@code KEY=VALUE}; {@code cwd} "" is "/"). */
    record ProcStart(String cmd, List<String> args, List<String> env, String cwd) implements Request {
        public ProcStart {
            args = List.copyOf(args);
            env = List.copyOf(env);
        }

        public int type() {
            return 0x10;
        }
    }

    /** Version 3: lists the background processes. */
    record ProcList() implements Request {
        public int type() {
            return 0x11;
        }
    }

    /** Version 3: sends {@code signal} (1, 2, 9 or 15) to the process group of {@code pid}. */
    record ProcSignal(int pid, int signal) implements Request {
        public int type() {
            return 0x12;
        }
    }

    /**
     * Version 3: output of {@code pid} from the two byte offsets, at most {@code maxBytes} per stream, waiting up
     * to {@code waitMs} when there is nothing new.
     */
    record ProcRead(int pid, long stdoutOffset, long stderrOffset, int maxBytes, int waitMs) implements Request {
        public int type() {
            return 0x13;
        }
    }

    /**
     * Version 4: a clone's identity in one request. {@code hostname} "" leaves it unchanged; {@code seconds} and
     * {@code nanos} are the Unix time to set; {@code entropy} goes to the guest's random pool.
     */
    record Identity(String hostname, long seconds, int nanos, byte[] entropy) implements Request {
        public int type() {
            return 0x14;
        }
    }

    // ---- replies ----

    record HelloOk(int version, String agentVersion, int maxPayload, int flags) implements Final {
        public static final int FLAG_PID1 = 1;

        public int type() {
            return 0x81;
        }
    }

    record Pong(byte[] data) implements Final {
        public int type() {
            return 0x82;
        }
    }

    record Stdout(byte[] data) implements Reply {
        public int type() {
            return 0x83;
        }
    }

    record Stderr(byte[] data) implements Reply {
        public int type() {
            return 0x84;
        }
    }

    /** The last frame of an exec. {@code exitCode} is 128 + signal when a signal ended the process. */
    record Exit(int exitCode, int signal, int flags, long durationNanos) implements Final {
        public static final int TIMED_OUT = 1, STDOUT_TRUNCATED = 2, STDERR_TRUNCATED = 4;

        public int type() {
            return 0x85;
        }
    }

    record WriteOk(long size) implements Final {
        public int type() {
            return 0x86;
        }
    }

    record FileData(byte[] data) implements Reply {
        public int type() {
            return 0x87;
        }
    }

    record FileEnd(long size) implements Final {
        public int type() {
            return 0x88;
        }
    }

    record ClockOk(boolean applied, long previousSeconds, int previousNanos) implements Final {
        public int type() {
            return 0x89;
        }
    }

    record EntropyOk(int bytes, boolean credited) implements Final {
        public int type() {
            return 0x8A;
        }
    }

    record QuiesceOk() implements Final {
        public int type() {
            return 0x8B;
        }
    }

    /**
     * One LIST entry as sent: {@code kind} 1 file, 2 directory, 3 symlink, 4 other; {@code mode} the permission
     * bits; the codec has checked the name (1 to {@link AgentCodec#MAX_NAME} bytes, no '/' or NUL).
     */
    record Entry(String name, int kind, int mode, long size, long mtimeSeconds, int mtimeNanos) {}

    /** A chunk of a listing. */
    record DirEntries(List<Entry> entries) implements Reply {
        public DirEntries {
            entries = List.copyOf(entries);
        }

        public int type() {
            return 0x8C;
        }
    }

    /** The last frame of a listing: how many entries were sent, and whether some were left out. */
    record ListEnd(int count, int flags) implements Final {
        public static final int TRUNCATED = 1;

        public int type() {
            return 0x8D;
        }
    }

    /** {@code created} is false when the directory was already there. */
    record MkdirOk(boolean created) implements Final {
        public int type() {
            return 0x8E;
        }
    }

    /** How many entries were deleted, the path itself included. */
    record RemoveOk(long removed) implements Final {
        public int type() {
            return 0x8F;
        }
    }

    /**
     * One background process as PROCS lists it: {@code state} {@link #RUNNING} or {@link #EXITED}; exit code and
     * signal as in {@link Exit} (0 while running); started in Unix milliseconds.
     */
    record Proc(int pid, int state, int exitCode, int signal, long startedMillis, String cmd, List<String> args) {
        public static final int RUNNING = 1, EXITED = 2;

        public Proc {
            args = List.copyOf(args);
        }
    }

    /** The answer to PROC_START (the new process alone) and PROC_LIST (every one). */
    record Procs(List<Proc> procs) implements Final {
        public Procs {
            procs = List.copyOf(procs);
        }

        public int type() {
            return 0x90;
        }
    }

    /** {@code delivered} is false when the process had exited already. */
    record SignalOk(boolean delivered) implements Final {
        public int type() {
            return 0x91;
        }
    }

    /** Output from the offsets given (later ones than asked when older bytes were dropped). */
    record ProcOutput(long stdoutOffset, byte[] stdout, long stderrOffset, byte[] stderr, boolean exited,
                      int exitCode, int signal) implements Final {
        public int type() {
            return 0x92;
        }
    }

    /**
     * Version 4: what IDENTITY changed ({@link #HOSTNAME_SET}, {@link #CLOCK_SET}: neither unless the agent is PID 1
     * or privileged), how many entropy bytes it added and whether they were credited.
     */
    record IdentityOk(int flags, int entropyBytes, boolean credited) implements Final {
        public static final int HOSTNAME_SET = 1, CLOCK_SET = 2;

        public int type() {
            return 0x93;
        }
    }

    /** The ERROR frame: {@code kind} is an {@link AgentException.Kind} code, {@code errno} the guest errno. */
    record Failure(int kind, int errno, String message) implements Final {
        public int type() {
            return 0xFF;
        }

        public AgentException toException() {
            return new AgentException(AgentException.Kind.fromCode(kind), errno, message, null);
        }
    }
}
