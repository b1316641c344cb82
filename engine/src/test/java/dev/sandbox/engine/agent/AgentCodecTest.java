package dev.sandbox.engine.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sandbox.engine.agent.AgentMessage.Cancel;
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

    @ParameterizedTest
    @ValueSource(strings = {"malformed_oversize", "malformed_reserved", "malformed_exec_truncated",
            "malformed_trailing"})
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
