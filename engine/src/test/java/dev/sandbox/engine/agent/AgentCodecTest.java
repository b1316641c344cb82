package dev.sandbox.engine.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The Java codec against the byte fixtures shared with the C tests (guest-agent-c/fixtures/README.md). */
class AgentCodecTest {

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] seq16() {
        byte[] a = new byte[16];
        for (int i = 0; i < 16; i++) {
            a[i] = (byte) i;
        }
        return a;
    }

    private static final List<Entry> DIR_ENTRIES = List.of(
            new Entry("a.txt", 1, 0644, 5, 1700000000L, 5),
            new Entry("sub", 2, 0755, 4096, 1700000001L, 0),
            new Entry("link", 3, 0777, 5, -1L, 999999999));

    private static final List<AgentMessage.Proc> PROCS = List.of(
            new AgentMessage.Proc(42, AgentMessage.Proc.RUNNING, 0, 0, 1700000000123L, "sh",
                    List.of("-c", "echo tick")),
            new AgentMessage.Proc(7, AgentMessage.Proc.EXITED, 143, 15, 1700000000000L, "sleep", List.of("9")));

    /** The values of every fixture, as the README lists them. */
    static Stream<Arguments> fixtures() {
        return Stream.of(
                Arguments.of("hello", 0, new Hello(0x53425841, 1, 1)),
                Arguments.of("ping", 1, new Ping(b("ping"))),
                Arguments.of("exec", 2, new Exec(5000, 1048576, 65536, "/bin/sh", List.of("-c", "echo hi"),
                        List.of("A=1"), "/tmp", b("in"))),
                Arguments.of("write_open", 3, new WriteOpen("/tmp/f.txt", 0644)),
                Arguments.of("write_data", 3, new WriteData(new byte[] {0, 1, 2, (byte) 0xFF})),
                Arguments.of("write_end", 3, new WriteEnd()),
                Arguments.of("read", 4, new Read("/etc/hostname", 1048576)),
                Arguments.of("clock", 5, new Clock(1700000000L, 123456789)),
                Arguments.of("entropy", 6, new Entropy(seq16())),
                Arguments.of("quiesce", 7, new Quiesce()),
                Arguments.of("cancel", 2, new Cancel()),
                Arguments.of("hello_v2", 0, new Hello(0x53425841, 1, 2)),
                Arguments.of("list", 8, new ListDir("/tmp", 1000)),
                Arguments.of("mkdir", 9, new Mkdir("/tmp/a/b", 0755)),
                Arguments.of("remove", 10, new Remove("/tmp/a", Remove.RECURSIVE)),
                Arguments.of("hello_ok_v2", 0, new HelloOk(2, "sandbox-agent 0.2.0", 1048576, 1)),
                Arguments.of("dir_entries", 8, new DirEntries(DIR_ENTRIES)),
                Arguments.of("list_end", 8, new ListEnd(3, ListEnd.TRUNCATED)),
                Arguments.of("mkdir_ok", 9, new MkdirOk(true)),
                Arguments.of("remove_ok", 10, new RemoveOk(4)),
                Arguments.of("error_not_empty", 10, new Failure(12, 39, "remove /tmp/a: Directory not empty")),
                Arguments.of("hello_v3", 0, new Hello(0x53425841, 1, 3)),
                Arguments.of("proc_start", 11, new AgentMessage.ProcStart("sh", List.of("-c", "echo tick"),
                        List.of("A=1"), "/tmp")),
                Arguments.of("proc_list", 12, new AgentMessage.ProcList()),
                Arguments.of("proc_signal", 13, new AgentMessage.ProcSignal(42, 15)),
                Arguments.of("proc_read", 14, new AgentMessage.ProcRead(42, 5, 0, 65536, 1000)),
                Arguments.of("hello_ok_v3", 0, new HelloOk(3, "sandbox-agent 0.3.0", 1048576, 1)),
                Arguments.of("procs", 12, new AgentMessage.Procs(PROCS)),
                Arguments.of("signal_ok", 13, new AgentMessage.SignalOk(true)),
                Arguments.of("proc_output", 14, new AgentMessage.ProcOutput(5, b("tick 1\n"), 0, new byte[0], true,
                        143, 15)),
                Arguments.of("hello_v4", 0, new Hello(0x53425841, 1, 4)),
                Arguments.of("identity", 15, new AgentMessage.Identity("sb-1a2b3c4d", 1700000000L, 123456789,
                        seq16())),
                Arguments.of("hello_ok_v4", 0, new HelloOk(4, "sandbox-agent 0.4.0", 1048576, 1)),
                Arguments.of("identity_ok", 15, new AgentMessage.IdentityOk(
                        AgentMessage.IdentityOk.HOSTNAME_SET | AgentMessage.IdentityOk.CLOCK_SET, 16, true)),
                Arguments.of("hello_ok", 0, new HelloOk(1, "sandbox-agent 0.1.0", 1048576, 1)),
                Arguments.of("pong", 1, new Pong(b("ping"))),
                Arguments.of("stdout", 2, new Stdout(b("hi\n"))),
                Arguments.of("stderr", 2, new Stderr(b("oops\n"))),
                Arguments.of("exit", 2, new Exit(137, 9, Exit.TIMED_OUT | Exit.STDOUT_TRUNCATED, 1500000000L)),
                Arguments.of("write_ok", 3, new WriteOk(4)),
                Arguments.of("file_data", 4, new FileData(b("sandbox\n"))),
                Arguments.of("file_end", 4, new FileEnd(8)),
                Arguments.of("clock_ok", 5, new ClockOk(true, 1699999999L, 5)),
                Arguments.of("entropy_ok", 6, new EntropyOk(16, false)),
                Arguments.of("quiesce_ok", 7, new QuiesceOk()),
                Arguments.of("error", 4, new Failure(1, 2, "read /nope: No such file or directory")));
    }

    private static byte[] fixture(String name) throws IOException {
        return Files.readAllBytes(AgentTestSupport.fixtures().resolve(name + ".bin"));
    }

    private static byte[] bytes(ByteBuffer bb) {
        byte[] a = new byte[bb.remaining()];
        bb.duplicate().get(a);
        return a;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void encodesToTheFixture(String name, int id, AgentMessage expected) throws IOException {
        assertArrayEquals(fixture(name), bytes(AgentCodec.encode(id, expected)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void decodesTheFixture(String name, int id, AgentMessage expected) throws IOException {
        byte[] bytes = fixture(name);
        AgentCodec.Frame f = AgentCodec.decode(ByteBuffer.wrap(bytes));
        assertEquals(id, f.id());
        assertEquals(expected.getClass(), f.message().getClass());
        assertEquals(expected.type(), f.message().type());
        // records with arrays compare by identity: compare by what they encode to, and field by field below
        assertArrayEquals(bytes, bytes(AgentCodec.encode(f.id(), f.message())));
        AgentCodec.Frame streamed = AgentCodec.read(Channels.newChannel(new java.io.ByteArrayInputStream(bytes)));
        assertEquals(id, streamed.id());
        assertArrayEquals(bytes, bytes(AgentCodec.encode(streamed.id(), streamed.message())));
    }

    @Test
    void decodedFieldsMatch() throws IOException {
        Exec e = assertInstanceOf(Exec.class, AgentCodec.decode(ByteBuffer.wrap(fixture("exec"))).message());
        assertEquals(5000, e.timeoutMs());
        assertEquals("/bin/sh", e.cmd());
        assertEquals(List.of("-c", "echo hi"), e.args());
        assertEquals(List.of("A=1"), e.env());
        assertEquals("/tmp", e.cwd());
        assertArrayEquals(b("in"), e.stdin());
        Exit x = assertInstanceOf(Exit.class, AgentCodec.decode(ByteBuffer.wrap(fixture("exit"))).message());
        assertEquals(new Exit(137, 9, 3, 1500000000L), x);
        ExecExit ee = ExecExit.of(x);
        assertEquals(true, ee.timedOut());
        assertEquals(true, ee.stdoutTruncated());
        assertEquals(false, ee.stderrTruncated());
        assertEquals(java.time.Duration.ofMillis(1500), ee.duration());
        Failure fl = assertInstanceOf(Failure.class, AgentCodec.decode(ByteBuffer.wrap(fixture("error"))).message());
        assertEquals(AgentException.Kind.NOT_FOUND, fl.toException().kind());
        assertEquals(2, fl.toException().errno());
        assertEquals(new ClockOk(true, 1699999999L, 5),
                AgentCodec.decode(ByteBuffer.wrap(fixture("clock_ok"))).message());
    }

    @Test
    void directoryFieldsMatch() throws IOException {
        DirEntries d = assertInstanceOf(DirEntries.class,
                AgentCodec.decode(ByteBuffer.wrap(fixture("dir_entries"))).message());
        assertEquals(DIR_ENTRIES, d.entries());
        List<DirEntry> api = d.entries().stream().map(DirEntry::of).toList();
        assertEquals(new DirEntry("a.txt", DirEntry.Type.FILE, 0644, 5,
                java.time.Instant.ofEpochSecond(1700000000L, 5)),
                api.get(0));
        assertEquals(DirEntry.Type.DIRECTORY, api.get(1).type());
        assertEquals(DirEntry.Type.SYMLINK, api.get(2).type());
        assertEquals(java.time.Instant.ofEpochSecond(-1, 999999999), api.get(2).modified());
        assertEquals(new ListEnd(3, 1), AgentCodec.decode(ByteBuffer.wrap(fixture("list_end"))).message());
        Failure f = assertInstanceOf(Failure.class,
                AgentCodec.decode(ByteBuffer.wrap(fixture("error_not_empty"))).message());
        assertEquals(AgentException.Kind.NOT_EMPTY, f.toException().kind());
        assertEquals(AgentException.Kind.NOT_DIRECTORY, new Failure(10, 20, "x").toException().kind());
        assertEquals(AgentException.Kind.EXISTS, new Failure(11, 17, "x").toException().kind());
    }

    @Test
    void processFieldsMatch() throws IOException {
        AgentMessage.Procs p = assertInstanceOf(AgentMessage.Procs.class,
                AgentCodec.decode(ByteBuffer.wrap(fixture("procs"))).message());
        assertEquals(PROCS, p.procs());
        ProcessInfo running = ProcessInfo.of(p.procs().get(0));
        assertEquals(new ProcessInfo(42, "sh", List.of("-c", "echo tick"), true, 0, 0,
                java.time.Instant.ofEpochMilli(1700000000123L)), running);
        ProcessInfo exited = ProcessInfo.of(p.procs().get(1));
        assertEquals(false, exited.running());
        assertEquals(143, exited.exitCode());
        assertEquals(15, exited.signal());
        AgentMessage.ProcOutput o = assertInstanceOf(AgentMessage.ProcOutput.class,
                AgentCodec.decode(ByteBuffer.wrap(fixture("proc_output"))).message());
        assertEquals(5, o.stdoutOffset());
        assertArrayEquals(b("tick 1\n"), o.stdout());
        assertEquals(0, o.stderr().length);
        assertEquals(true, o.exited());
        assertEquals(143, o.exitCode());
        assertEquals(new AgentMessage.ProcRead(42, 5, 0, 65536, 1000),
                AgentCodec.decode(ByteBuffer.wrap(fixture("proc_read"))).message());
        assertEquals(ProcessSignal.TERM, ProcessSignal.parse("TERM").orElseThrow());
        assertEquals(15, ProcessSignal.TERM.number());
        assertEquals(true, ProcessSignal.parse("SIGTERM").isEmpty());
        assertEquals(true, ProcessSignal.parse("term").isEmpty());
    }

    @Test
    void identityFieldsMatch() throws IOException {
        AgentMessage.Identity i = assertInstanceOf(AgentMessage.Identity.class,
                AgentCodec.decode(ByteBuffer.wrap(fixture("identity"))).message());
        assertEquals("sb-1a2b3c4d", i.hostname());
        assertEquals(1700000000L, i.seconds());
        assertEquals(123456789, i.nanos());
        assertArrayEquals(seq16(), i.entropy());
        assertEquals(new AgentMessage.IdentityOk(3, 16, true),
                AgentCodec.decode(ByteBuffer.wrap(fixture("identity_ok"))).message());
    }

    /** An IDENTITY answer with a flag that does not exist, or a negative count, is a broken guest. */
    @ParameterizedTest
    @ValueSource(ints = {4, 0x80})
    void refusesUnknownIdentityFlags(int flags) {
        ByteBuffer frame = AgentCodec.encode(15, new AgentMessage.IdentityOk(flags, 16, false));
        assertEquals(AgentException.Kind.PROTOCOL,
                assertThrows(AgentException.class, () -> AgentCodec.decode(frame)).kind());
        ByteBuffer negative = AgentCodec.encode(15, new AgentMessage.IdentityOk(3, -1, false));
        assertEquals(AgentException.Kind.PROTOCOL,
                assertThrows(AgentException.class, () -> AgentCodec.decode(negative)).kind());
        AgentCodec.decode(AgentCodec.encode(15, new AgentMessage.IdentityOk(3, 16, false))); // sound values decode
    }

    /** Process entries and output a guest must not get past the codec. */
    @ParameterizedTest
    @ValueSource(strings = {"pid0", "pid1", "state0", "state3", "emptycmd", "count", "bigchunk"})
    void refusesBadProcessReplies(String how) {
        AgentMessage m;
        if (how.equals("bigchunk")) {
            m = new AgentMessage.ProcOutput(0, new byte[AgentCodec.CHUNK + 1], 0, new byte[0], false, 0, 0);
        } else if (how.equals("count")) {
            List<AgentMessage.Proc> many = new java.util.ArrayList<>();
            for (int i = 0; i <= AgentCodec.MAX_PROCS; i++) {
                many.add(new AgentMessage.Proc(100 + i, 1, 0, 0, 0, "x", List.of()));
            }
            m = new AgentMessage.Procs(many);
        } else {
            m = new AgentMessage.Procs(List.of(new AgentMessage.Proc(
                    how.equals("pid0") ? 0 : how.equals("pid1") ? 1 : 42,
                    how.equals("state0") ? 0 : how.equals("state3") ? 3 : 1, 0, 0, 0,
                    how.equals("emptycmd") ? "" : "sh", List.of())));
        }
        ByteBuffer frame = AgentCodec.encode(9, m);
        assertEquals(AgentException.Kind.PROTOCOL,
                assertThrows(AgentException.class, () -> AgentCodec.decode(frame)).kind(), how);
        // the same frame with sound values decodes: the test is about the one bad field
        AgentCodec.decode(AgentCodec.encode(9, new AgentMessage.Procs(List.of(
                new AgentMessage.Proc(42, 1, 0, 0, 0, "sh", List.of())))));
    }

    /** Entries a guest must not get past the codec: bad names, kinds, modes, nanos, counts. */
    @ParameterizedTest
    @ValueSource(strings = {"", "a/b", "nul", "long", "kind0", "kind5", "mode", "nanos", "count"})
    void refusesBadDirectoryEntries(String how) {
        String name = switch (how) {
            case "" -> "";
            case "a/b" -> "a/b";
            case "nul" -> "nul\0x";
            case "long" -> "x".repeat(AgentCodec.MAX_NAME + 1);
            default -> "ok";
        };
        byte[] nb = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer p = ByteBuffer.allocate(64 + nb.length);
        p.putInt(how.equals("count") ? 2 : 1).putInt(nb.length).put(nb);
        p.put((byte) (how.equals("kind0") ? 0 : how.equals("kind5") ? 5 : 1));
        p.putInt(how.equals("mode") ? 0100644 : 0644).putLong(1).putLong(1);
        p.putInt(how.equals("nanos") ? 1_000_000_000 : 0);
        p.flip();
        ByteBuffer frame = ByteBuffer.allocate(12 + p.remaining()).putInt(p.remaining()).put((byte) 0x8C)
                .put(new byte[3]).putInt(8).put(p).flip();
        assertEquals(AgentException.Kind.PROTOCOL,
                assertThrows(AgentException.class, () -> AgentCodec.decode(frame)).kind(), how);
        // the same with good values decodes: the test is about the one bad field
        if (how.equals("kind0")) {
            ByteBuffer good = frame.duplicate();
            good.put(12 + 4 + 4 + nb.length, (byte) 1);
            assertEquals(1, ((DirEntries) AgentCodec.decode(good).message()).entries().size());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"malformed_oversize", "malformed_reserved", "malformed_exec_truncated",
            "malformed_trailing", "malformed_list_truncated", "malformed_proc_read_truncated",
            "malformed_identity_truncated"})
    void refusesMalformed(String name) throws IOException {
        byte[] bytes = fixture(name);
        AgentException e = assertThrows(AgentException.class, () -> {
            if (bytes.length == AgentCodec.HEADER_SIZE) { // header only: the stream reader must refuse it
                AgentCodec.read(Channels.newChannel(new java.io.ByteArrayInputStream(bytes)));
            } else {
                AgentCodec.decode(ByteBuffer.wrap(bytes));
            }
        });
        assertEquals(AgentException.Kind.PROTOCOL, e.kind());
    }

    @Test
    void refusesOversizeEncodeAndUnknownType() {
        assertEquals(AgentException.Kind.TOO_LARGE, assertThrows(AgentException.class,
                () -> AgentCodec.encode(1, new Stdout(new byte[AgentCodec.MAX_PAYLOAD + 1]))).kind());
        AgentCodec.encode(1, new Stdout(new byte[AgentCodec.MAX_PAYLOAD])); // exactly the maximum is fine
        ByteBuffer unknown = ByteBuffer.allocate(12).putInt(0).put((byte) 0x42).put(new byte[3]).putInt(1).flip();
        assertEquals(AgentException.Kind.PROTOCOL,
                assertThrows(AgentException.class, () -> AgentCodec.decode(unknown)).kind());
    }

    @Test
    void cleanEndOfStreamBetweenFramesIsNull() throws IOException {
        assertEquals(null, AgentCodec.read(Channels.newChannel(new java.io.ByteArrayInputStream(new byte[0]))));
        assertEquals(AgentException.Kind.CLOSED, assertThrows(AgentException.class,
                () -> AgentCodec.read(Channels.newChannel(new java.io.ByteArrayInputStream(new byte[5])))).kind());
    }
}
