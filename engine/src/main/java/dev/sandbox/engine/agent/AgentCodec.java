package dev.sandbox.engine.agent;

import dev.sandbox.engine.agent.AgentMessage.Cancel;
import dev.sandbox.engine.agent.AgentMessage.DirEntries;
import dev.sandbox.engine.agent.AgentMessage.Entry;
import dev.sandbox.engine.agent.AgentMessage.ListDir;
import dev.sandbox.engine.agent.AgentMessage.ListEnd;
import dev.sandbox.engine.agent.AgentMessage.Mkdir;
import dev.sandbox.engine.agent.AgentMessage.MkdirOk;
import dev.sandbox.engine.agent.AgentMessage.Remove;
import dev.sandbox.engine.agent.AgentMessage.RemoveOk;
import dev.sandbox.engine.agent.AgentMessage.Clock;
import dev.sandbox.engine.agent.AgentMessage.ClockOk;
import dev.sandbox.engine.agent.AgentMessage.Entropy;
import dev.sandbox.engine.agent.AgentMessage.EntropyOk;
import dev.sandbox.engine.agent.AgentMessage.Exec;
import dev.sandbox.engine.agent.AgentMessage.Exit;
import dev.sandbox.engine.agent.AgentMessage.Failure;
import dev.sandbox.engine.agent.AgentMessage.FileData;
import dev.sandbox.engine.agent.AgentMessage.FileEnd;
import dev.sandbox.engine.agent.AgentMessage.Hello;
import dev.sandbox.engine.agent.AgentMessage.HelloOk;
import dev.sandbox.engine.agent.AgentMessage.Identity;
import dev.sandbox.engine.agent.AgentMessage.IdentityOk;
import dev.sandbox.engine.agent.AgentMessage.Ping;
import dev.sandbox.engine.agent.AgentMessage.Pong;
import dev.sandbox.engine.agent.AgentMessage.Quiesce;
import dev.sandbox.engine.agent.AgentMessage.QuiesceOk;
import dev.sandbox.engine.agent.AgentMessage.Read;
import dev.sandbox.engine.agent.AgentMessage.Stderr;
import dev.sandbox.engine.agent.AgentMessage.Stdout;
import dev.sandbox.engine.agent.AgentMessage.WriteData;
import dev.sandbox.engine.agent.AgentMessage.WriteEnd;
import dev.sandbox.engine.agent.AgentMessage.WriteOk;
import dev.sandbox.engine.agent.AgentMessage.WriteOpen;
import dev.sandbox.engine.agent.AgentMessage.Proc;
import dev.sandbox.engine.agent.AgentMessage.ProcList;
import dev.sandbox.engine.agent.AgentMessage.ProcOutput;
import dev.sandbox.engine.agent.AgentMessage.ProcRead;
import dev.sandbox.engine.agent.AgentMessage.ProcSignal;
import dev.sandbox.engine.agent.AgentMessage.ProcStart;
import dev.sandbox.engine.agent.AgentMessage.Procs;
import dev.sandbox.engine.agent.AgentMessage.SignalOk;
import dev.sandbox.engine.agent.AgentException.Kind;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The Java twin of {@code guest-agent-c/include/protocol.h} (read its comment block for the bytes of every frame):
 * encodes and decodes whole frames, big-endian, {@code u32 len | u8 type | 0 0 0 | u32 id | payload}. Decoding is
 * strict: oversize lengths, non-zero reserved bytes, short or trailing payload bytes and unknown types throw
 * {@link AgentException} of kind {@link Kind#PROTOCOL}.
 */
public final class AgentCodec {
    /** vsock port the agent listens on (VMADDR_CID_ANY in the guest). */
    public static final int VSOCK_PORT = 10000;
    public static final int MAGIC = 0x53425841; // "SBXA"
    /**
     * The highest protocol version this side speaks; 2 added LIST, MKDIR and REMOVE, 3 background processes, 4
     * IDENTITY.
     */
    public static final int PROTOCOL_VERSION = 4;
    public static final int MIN_PROTOCOL_VERSION = 1;
    /** The first version with the directory requests. */
    public static final int DIRECTORIES_VERSION = 2;
    /** The first version with background processes. */
    public static final int PROCESSES_VERSION = 3;
    /** The first version with IDENTITY (hostname, clock and entropy in one request). */
    public static final int IDENTITY_VERSION = 4;
    /** Bytes of an IDENTITY hostname (AGENT_MAX_HOSTNAME). */
    public static final int MAX_HOSTNAME = 64;
    /** Background processes one agent keeps: 64 running plus 16 exited (AGENT_MAX_PROCS + AGENT_MAX_EXITED). */
    public static final int MAX_PROCS = 64 + 16;
    /** Bytes of cmd + args of one background process (AGENT_MAX_PROC_ARGV). */
    public static final int MAX_PROC_ARGV = 8192;
    /** The fewest bytes one PROCS entry takes: pid, state, exit, signal, start, empty cmd, argc. */
    private static final int MIN_PROC = 4 + 1 + 4 + 4 + 8 + 4 + 4;
    public static final int HEADER_SIZE = 12;
    public static final int MAX_PAYLOAD = 1024 * 1024;
    /** Data frames (output, file content) carry at most this many bytes. */
    public static final int CHUNK = 64 * 1024;
    public static final int MAX_PING = 4096;
    /** Bytes in a directory entry's name (NAME_MAX); longer is a protocol violation. */
    public static final int MAX_NAME = 255;
    /** Entries one LIST may return (AGENT_MAX_LIST). */
    public static final int MAX_LIST = 10000;
    /** The fewest bytes one entry takes: empty name length, kind, mode, size, mtime. */
    private static final int MIN_ENTRY = 4 + 1 + 4 + 8 + 8 + 4;

    /** One frame: the request id and its message. */
    public record Frame(int id, AgentMessage message) {}

    private AgentCodec() {}

    // ---- encoding ----

    /** The whole frame, header included, ready to write (position 0, limit = length). */
    public static ByteBuffer encode(int id, AgentMessage m) {
        Writer w = new Writer();
        switch (m) {
            case Hello h -> w.u32(h.magic()).u16(h.minVersion()).u16(h.maxVersion());
            case Ping p -> w.raw(p.data());
            case Exec e -> {
                w.u32(e.timeoutMs()).u32(e.stdoutCap()).u32(e.stderrCap()).str(e.cmd());
                w.u32(e.args().size());
                e.args().forEach(w::str);
                w.u32(e.env().size());
                e.env().forEach(w::str);
                w.str(e.cwd()).blob(e.stdin());
            }
            case WriteOpen o -> w.str(o.path()).u32(o.mode());
            case WriteData d -> w.raw(d.data());
            case WriteEnd ignored -> {}
            case Read r -> w.str(r.path()).u64(r.maxBytes());
            case Clock c -> w.u64(c.seconds()).u32(c.nanos());
            case Entropy e -> w.raw(e.data());
            case Quiesce ignored -> {}
            case Cancel ignored -> {}
            case ListDir l -> w.str(l.path()).u32(l.maxEntries());
            case Mkdir m2 -> w.str(m2.path()).u32(m2.mode());
            case Remove r -> w.str(r.path()).u32(r.flags());
            case ProcStart p -> {
                w.str(p.cmd()).u32(p.args().size());
                p.args().forEach(w::str);
                w.u32(p.env().size());
                p.env().forEach(w::str);
                w.str(p.cwd());
            }
            case ProcList ignored -> {}
            case Identity i -> w.str(i.hostname()).u64(i.seconds()).u32(i.nanos()).blob(i.entropy());
            case IdentityOk o -> w.u8(o.flags()).u32(o.entropyBytes()).u8(o.credited() ? 1 : 0);
            case ProcSignal p -> w.u32(p.pid()).u32(p.signal());
            case ProcRead p -> w.u32(p.pid()).u64(p.stdoutOffset()).u64(p.stderrOffset()).u32(p.maxBytes())
                    .u32(p.waitMs());
            case Procs p -> {
                w.u32(p.procs().size());
                for (Proc e : p.procs()) {
                    w.u32(e.pid()).u8(e.state()).u32(e.exitCode()).u32(e.signal()).u64(e.startedMillis())
                            .str(e.cmd()).u32(e.args().size());
                    e.args().forEach(w::str);
                }
            }
            case SignalOk o -> w.u8(o.delivered() ? 1 : 0);
            case ProcOutput o -> w.u64(o.stdoutOffset()).blob(o.stdout()).u64(o.stderrOffset()).blob(o.stderr())
                    .u8(o.exited() ? 1 : 0).u32(o.exitCode()).u32(o.signal());
            case DirEntries d -> {
                w.u32(d.entries().size());
                for (Entry e : d.entries()) {
                    w.str(e.name()).u8(e.kind()).u32(e.mode()).u64(e.size()).u64(e.mtimeSeconds()).u32(e.mtimeNanos());
                }
            }
            case ListEnd l -> w.u32(l.count()).u32(l.flags());
            case MkdirOk m2 -> w.u8(m2.created() ? 1 : 0);
            case RemoveOk r -> w.u64(r.removed());
            case HelloOk h -> w.u16(h.version()).str(h.agentVersion()).u32(h.maxPayload()).u32(h.flags());
            case Pong p -> w.raw(p.data());
            case Stdout s -> w.raw(s.data());
            case Stderr s -> w.raw(s.data());
            case Exit x -> w.u32(x.exitCode()).u32(x.signal()).u32(x.flags()).u64(x.durationNanos());
            case WriteOk o -> w.u64(o.size());
            case FileData d -> w.raw(d.data());
            case FileEnd e -> w.u64(e.size());
            case ClockOk c -> w.u8(c.applied() ? 1 : 0).u64(c.previousSeconds()).u32(c.previousNanos());
            case EntropyOk e -> w.u32(e.bytes()).u8(e.credited() ? 1 : 0);
            case QuiesceOk ignored -> {}
            case Failure f -> w.u16(f.kind()).u32(f.errno()).str(f.message());
        }
        return w.finish(m.type(), id);
    }

    // ---- decoding ----

    /** Decodes exactly one frame (header + payload) from {@code frame}'s remaining bytes. */
    public static Frame decode(ByteBuffer frame) {
        ByteBuffer b = frame.duplicate().order(java.nio.ByteOrder.BIG_ENDIAN);
        if (b.remaining() < HEADER_SIZE) {
            throw protocol("frame shorter than its header");
        }
        Header h = header(b);
        if (b.remaining() != h.len()) {
            throw protocol("frame length " + h.len() + " but " + b.remaining() + " payload bytes");
        }
        return new Frame(h.id(), payload(h.type(), b));
    }

    /**
     * Reads one frame from a blocking channel; {@code null} at a clean end of stream (between frames).
     * @throws IOException when the channel fails
     * @throws AgentException PROTOCOL for malformed bytes, CLOSED for an end of stream inside a frame
     */
    public static Frame read(ReadableByteChannel ch) throws IOException {
        ByteBuffer hb = ByteBuffer.allocate(HEADER_SIZE);
        if (!readFully(ch, hb, true)) {
            return null;
        }
        hb.flip();
        Header h = header(hb);
        ByteBuffer pb = ByteBuffer.allocate(h.len());
        readFully(ch, pb, false);
        pb.flip();
        return new Frame(h.id(), payload(h.type(), pb));
    }

    private record Header(int len, int type, int id) {}

    private static Header header(ByteBuffer b) {
        long len = Integer.toUnsignedLong(b.getInt());
        int type = b.get() & 0xFF;
        if (b.get() != 0 || b.get() != 0 || b.get() != 0) {
            throw protocol("reserved header bytes not zero");
        }
        int id = b.getInt();
        if (len > MAX_PAYLOAD) {
            throw protocol("frame payload of " + len + " bytes exceeds " + MAX_PAYLOAD);
        }
        return new Header((int) len, type, id);
    }

    private static boolean readFully(ReadableByteChannel ch, ByteBuffer b, boolean eofOk) throws IOException {
        while (b.hasRemaining()) {
            int n = ch.read(b);
            if (n < 0) {
                if (eofOk && b.position() == 0) {
                    return false;
                }
                throw new AgentException(Kind.CLOSED, "end of stream inside a frame");
            }
        }
        return true;
    }

    private static AgentMessage payload(int type, ByteBuffer b) {
        AgentMessage m;
        try {
            m = switch (type) {
                case 0x01 -> new Hello(b.getInt(), u16(b), u16(b));
                case 0x02 -> {
                    if (b.remaining() > MAX_PING) {
                        throw protocol("ping payload over " + MAX_PING + " bytes");
                    }
                    yield new Ping(rest(b));
                }
                case 0x03 -> new Exec(b.getInt(), b.getInt(), b.getInt(), str(b), strs(b), strs(b), str(b), blob(b));
                case 0x04 -> new WriteOpen(str(b), b.getInt());
                case 0x05 -> new WriteData(rest(b));
                case 0x06 -> new WriteEnd();
                case 0x07 -> new Read(str(b), b.getLong());
                case 0x08 -> {
                    Clock c = new Clock(b.getLong(), b.getInt());
                    if (Integer.compareUnsigned(c.nanos(), 1_000_000_000) >= 0) {
                        throw protocol("clock nanos out of range");
                    }
                    yield c;
                }
                case 0x09 -> new Entropy(rest(b));
                case 0x0A -> new Quiesce();
                case 0x0B -> new Cancel();
                case 0x0C -> new ListDir(str(b), b.getInt());
                case 0x0D -> new Mkdir(str(b), b.getInt());
                case 0x0E -> new Remove(str(b), b.getInt());
                case 0x10 -> new ProcStart(str(b), strs(b), strs(b), str(b));
                case 0x11 -> new ProcList();
                case 0x12 -> new ProcSignal(b.getInt(), b.getInt());
                case 0x13 -> new ProcRead(b.getInt(), b.getLong(), b.getLong(), b.getInt(), b.getInt());
                case 0x14 -> new Identity(str(b), b.getLong(), b.getInt(), blob(b));
                case 0x93 -> identityOk(b);
                case 0x90 -> new Procs(procs(b));
                case 0x91 -> new SignalOk(bool(b));
                case 0x92 -> procOutput(b);
                case 0x81 -> new HelloOk(u16(b), str(b), b.getInt(), b.getInt());
                case 0x82 -> new Pong(rest(b));
                case 0x83 -> new Stdout(rest(b));
                case 0x84 -> new Stderr(rest(b));
                case 0x85 -> new Exit(b.getInt(), b.getInt(), b.getInt(), b.getLong());
                case 0x86 -> new WriteOk(b.getLong());
                case 0x87 -> new FileData(rest(b));
                case 0x88 -> new FileEnd(b.getLong());
                case 0x89 -> new ClockOk(bool(b), b.getLong(), b.getInt());
                case 0x8A -> new EntropyOk(b.getInt(), bool(b));
                case 0x8B -> new QuiesceOk();
                case 0x8C -> new DirEntries(entries(b));
                case 0x8D -> new ListEnd(b.getInt(), b.getInt());
                case 0x8E -> new MkdirOk(bool(b));
                case 0x8F -> new RemoveOk(b.getLong());
                case 0xFF -> new Failure(u16(b), b.getInt(), str(b));
                default -> throw protocol("unknown frame type 0x" + Integer.toHexString(type));
            };
        } catch (BufferUnderflowException e) {
            throw protocol("payload of frame type 0x" + Integer.toHexString(type) + " ends early");
        }
        if (b.hasRemaining()) {
            throw protocol(b.remaining() + " trailing bytes in frame type 0x" + Integer.toHexString(type));
        }
        return m;
    }

    private static int u16(ByteBuffer b) {
        return b.getShort() & 0xFFFF;
    }

    private static boolean bool(ByteBuffer b) {
        int v = b.get() & 0xFF;
        if (v > 1) {
            throw protocol("boolean byte " + v);
        }
        return v == 1;
    }

    private static byte[] rest(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return a;
    }

    private static byte[] blob(ByteBuffer b) {
        long n = Integer.toUnsignedLong(b.getInt());
        if (n > b.remaining()) {
            throw new BufferUnderflowException();
        }
        byte[] a = new byte[(int) n];
        b.get(a);
        return a;
    }

    private static String str(ByteBuffer b) {
        return new String(blob(b), StandardCharsets.UTF_8);
    }

    private static List<String> strs(ByteBuffer b) {
        long n = Integer.toUnsignedLong(b.getInt());
        if (n > b.remaining() / 4) { // every string takes at least its 4-byte length
            throw new BufferUnderflowException();
        }
        List<String> out = new ArrayList<>((int) n);
        for (long i = 0; i < n; i++) {
            out.add(str(b));
        }
        return out;
    }

    /** A DIR_ENTRIES payload, every field checked: what a guest sends must not surprise the host. */
    private static List<Entry> entries(ByteBuffer b) {
        long n = Integer.toUnsignedLong(b.getInt());
        if (n > b.remaining() / MIN_ENTRY) {
            throw new BufferUnderflowException();
        }
        List<Entry> out = new ArrayList<>((int) n);
        for (long i = 0; i < n; i++) {
            byte[] name = blob(b);
            if (name.length == 0 || name.length > MAX_NAME) {
                throw protocol("directory entry name of " + name.length + " bytes");
            }
            for (byte c : name) {
                if (c == '/' || c == 0) {
                    throw protocol("directory entry name with '/' or NUL");
                }
            }
            int kind = b.get() & 0xFF;
            if (kind < 1 || kind > 4) {
                throw protocol("directory entry kind " + kind);
            }
            int mode = b.getInt();
            if ((mode & ~07777) != 0) {
                throw protocol("directory entry mode 0" + Integer.toOctalString(mode));
            }
            long size = b.getLong();
            long seconds = b.getLong();
            int nanos = b.getInt();
            if (Integer.compareUnsigned(nanos, 1_000_000_000) >= 0) {
                throw protocol("directory entry nanos out of range");
            }
            out.add(new Entry(new String(name, StandardCharsets.UTF_8), kind, mode, size, seconds, nanos));
        }
        return out;
    }

    /** A PROCS payload: at most {@link #MAX_PROCS} entries, each within the agent's own bounds. */
    private static List<Proc> procs(ByteBuffer b) {
        long n = Integer.toUnsignedLong(b.getInt());
        if (n > b.remaining() / MIN_PROC) {
            throw new BufferUnderflowException();
        }
        if (n > MAX_PROCS) {
            throw protocol(n + " background processes listed, at most " + MAX_PROCS + " exist");
        }
        List<Proc> out = new ArrayList<>((int) n);
        for (long i = 0; i < n; i++) {
            int pid = b.getInt();
            int state = b.get() & 0xFF;
            int exitCode = b.getInt();
            int signal = b.getInt();
            long started = b.getLong();
            byte[] cmd = blob(b);
            List<String> args = strs(b);
            long argv = cmd.length;
            for (String a : args) {
                argv += a.length();
            }
            if (pid <= 1 || (state != Proc.RUNNING && state != Proc.EXITED) || cmd.length == 0
                    || argv > MAX_PROC_ARGV * 4L) { // chars, not bytes: a loose bound, only against a runaway guest
                throw protocol("background process entry out of bounds (pid " + Integer.toUnsignedString(pid)
                        + ", state " + state + ")");
            }
            out.add(new Proc(pid, state, exitCode, signal, started, new String(cmd, StandardCharsets.UTF_8), args));
        }
        return out;
    }

    /** Only the two flags exist, and a count of bytes is never negative. */
    private static IdentityOk identityOk(ByteBuffer b) {
        int flags = b.get() & 0xFF;
        IdentityOk o = new IdentityOk(flags, b.getInt(), bool(b));
        if ((flags & ~(IdentityOk.HOSTNAME_SET | IdentityOk.CLOCK_SET)) != 0 || o.entropyBytes() < 0) {
            throw protocol("identity answer out of bounds (flags " + flags + ", "
                    + Integer.toUnsignedString(o.entropyBytes()) + " bytes)");
        }
        return o;
    }

    private static ProcOutput procOutput(ByteBuffer b) {
        long outOff = b.getLong();
        byte[] out = blob(b);
        long errOff = b.getLong();
        byte[] err = blob(b);
        ProcOutput o = new ProcOutput(outOff, out, errOff, err, bool(b), b.getInt(), b.getInt());
        if (out.length > CHUNK || err.length > CHUNK || outOff < 0 || errOff < 0) {
            throw protocol("process output chunk out of bounds");
        }
        return o;
    }

    private static AgentException protocol(String message) {
        return new AgentException(Kind.PROTOCOL, message);
    }

    /** Growable big-endian payload writer; the header is filled in by {@link #finish}. */
    private static final class Writer {
        private ByteBuffer b = ByteBuffer.allocate(256).position(HEADER_SIZE);

        private Writer room(int n) {
            if (b.position() + (long) n > HEADER_SIZE + (long) MAX_PAYLOAD) {
                throw new AgentException(Kind.TOO_LARGE, "frame payload exceeds " + MAX_PAYLOAD + " bytes");
            }
            if (b.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(b.capacity() * 2, b.position() + n));
                b.flip();
                bigger.put(b);
                b = bigger;
            }
            return this;
        }

        Writer u8(int v) {
            room(1).b.put((byte) v);
            return this;
        }

        Writer u16(int v) {
            room(2).b.putShort((short) v);
            return this;
        }

        Writer u32(int v) {
            room(4).b.putInt(v);
            return this;
        }

        Writer u64(long v) {
            room(8).b.putLong(v);
            return this;
        }

        Writer raw(byte[] a) {
            room(a.length).b.put(a);
            return this;
        }

        Writer blob(byte[] a) {
            return u32(a.length).raw(a);
        }

        Writer str(String s) {
            return blob(s.getBytes(StandardCharsets.UTF_8));
        }

        ByteBuffer finish(int type, int id) {
            int len = b.position() - HEADER_SIZE;
            b.putInt(0, len).put(4, (byte) type).put(5, (byte) 0).put(6, (byte) 0).put(7, (byte) 0).putInt(8, id);
            return b.flip();
        }
    }
}
