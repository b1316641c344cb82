package dev.sandbox.engine.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sandbox.engine.agent.AgentException.Kind;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Background process calls (protocol 3) of AgentClient against the real sandbox-agent binary in Unix-socket mode. */
class AgentProcsTest extends RealAgentTest {

    /** Reads both streams until the exit; stdout then stderr, as strings. */
    private static String[] readToExit(AgentClient c, int pid, ProcessOutput[] last) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        long o = 0, e = 0;
        for (int i = 0; i < 100; i++) {
            ProcessOutput r = c.readProcessOutput(pid, o, e, 65536, Duration.ofSeconds(5));
            out.writeBytes(r.stdout());
            err.writeBytes(r.stderr());
            o = r.stdoutEnd();
            e = r.stderrEnd();
            if (r.exited()) {
                last[0] = r;
                break;
            }
        }
        return new String[] {out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void startListReadAndExit() {
        ProcessInfo p = client.startProcess("sh", List.of("-c", "echo one; sleep 0.2; echo two >&2; exit 4"),
                List.of(), "");
        assertTrue(p.pid() > 1);
        assertEquals("sh", p.cmd());
        assertEquals(List.of("-c", "echo one; sleep 0.2; echo two >&2; exit 4"), p.args());
        assertTrue(p.running());
        assertTrue(client.listProcesses().stream().anyMatch(x -> x.pid() == p.pid()));
        ProcessOutput[] last = new ProcessOutput[1];
        String[] s = readToExit(client, p.pid(), last);
        assertEquals("one\n", s[0]);
        assertEquals("two\n", s[1]);
        assertEquals(4, last[0].exitCode());
        ProcessInfo after = client.listProcesses().stream().filter(x -> x.pid() == p.pid()).findFirst()
                .orElseThrow();
        assertFalse(after.running());
        assertEquals(4, after.exitCode());
    }

    /** env entries and cwd reach the process, as for exec. */
    @Test
    void envAndCwdApply() throws IOException {
        java.nio.file.Path work = java.nio.file.Files.createDirectories(dir.resolve("work"));
        ProcessInfo p = client.startProcess("sh", List.of("-c", "echo $GREETING; pwd"), List.of("GREETING=hi there"),
                work.toString());
        ProcessOutput[] last = new ProcessOutput[1];
        String[] s = readToExit(client, p.pid(), last);
        assertEquals("hi there\n" + work.toRealPath() + "\n", s[0]);
        assertEquals(0, last[0].exitCode());
    }

    /** The process is the agent's: a second connection (as after a resume) sees it and its output from the start. */
    @Test
    void outlivesTheConnectionThatStartedIt() throws IOException {
        int pid;
        try (AgentClient first = agent.connect()) {
            pid = first.startProcess("sh", List.of("-c", "echo early; sleep 30"), List.of(), "").pid();
            ProcessOutput r = first.readProcessOutput(pid, 0, 0, 100, Duration.ofSeconds(5));
            assertEquals("early\n", new String(r.stdout(), StandardCharsets.UTF_8));
        }
        try (AgentClient second = agent.connect()) {
            assertTrue(second.listProcesses().stream().anyMatch(x -> x.pid() == pid && x.running()));
            ProcessOutput r = second.readProcessOutput(pid, 0, 0, 100, Duration.ofSeconds(5));
            assertEquals("early\n", new String(r.stdout(), StandardCharsets.UTF_8));
            assertTrue(second.signalProcess(pid, ProcessSignal.TERM));
            ProcessOutput[] last = new ProcessOutput[1];
            readToExit(second, pid, last);
            assertEquals(143, last[0].exitCode());
            assertEquals(15, last[0].signal());
            assertFalse(second.signalProcess(pid, ProcessSignal.KILL), "exited: nothing to signal");
        }
    }

    @Test
    void unknownPidsAndRefusals() {
        assertEquals(Kind.NOT_FOUND, assertThrows(AgentException.class,
                () -> client.signalProcess(999_999, ProcessSignal.TERM)).kind());
        assertEquals(Kind.NOT_FOUND, assertThrows(AgentException.class,
                () -> client.readProcessOutput(999_999, 0, 0, 10, Duration.ZERO)).kind());
        assertEquals(Kind.TOO_LARGE, assertThrows(AgentException.class,
                () -> client.startProcess("echo", List.of("x".repeat(9000)), List.of(), "")).kind());
        assertEquals(Kind.NOT_FOUND, assertThrows(AgentException.class,
                () -> client.startProcess("true", List.of(), List.of(), dir.resolve("nope").toString())).kind());
        // a command that is not there starts, and exits 127 with the shell's message
        ProcessInfo p = client.startProcess("no-such-command-xyz", List.of(), List.of(), "");
        ProcessOutput[] last = new ProcessOutput[1];
        String[] s = readToExit(client, p.pid(), last);
        assertEquals(127, last[0].exitCode());
        assertTrue(s[1].contains("not found"), s[1]);
    }

    /** A read with nothing new waits in the guest, and output that comes meanwhile ends the wait early. */
    @Test
    void readWaitsForOutput() {
        ProcessInfo p = client.startProcess("sh", List.of("-c", "sleep 0.5; echo late"), List.of(), "");
        long t0 = System.nanoTime();
        ProcessOutput r = client.readProcessOutput(p.pid(), 0, 0, 100, Duration.ofSeconds(10));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals("late\n", new String(r.stdout(), StandardCharsets.UTF_8));
        assertTrue(ms >= 300 && ms < 8000, ms + " ms");
    }

    /** A host offering version 2 only gets UNSUPPORTED, before sending; the agent refuses the requests too. */
    @Test
    void olderConnectionsHaveNoProcessCalls() throws IOException {
        try (AgentClient old = clientUpTo(2)) {
            assertEquals(2, old.protocolVersion());
            AgentException e = assertThrows(AgentException.class, old::listProcesses);
            assertEquals(Kind.UNSUPPORTED, e.kind());
            assertTrue(e.getMessage().contains("version 2"), e.getMessage());
        }
        try (SocketChannel raw = rawConnection()) {
            raw.write(AgentCodec.encode(0, new AgentMessage.Hello(AgentCodec.MAGIC, 1, 2)));
            assertEquals(2, ((AgentMessage.HelloOk) AgentCodec.read(raw).message()).version());
            raw.write(AgentCodec.encode(5, new AgentMessage.ProcList()));
            AgentCodec.Frame f = AgentCodec.read(raw);
            assertEquals(5, f.id());
            assertEquals(Kind.UNSUPPORTED, ((AgentMessage.Failure) f.message()).toException().kind());
            // and a signal number outside the four is refused by the agent on a current connection
            raw.close();
        }
        try (SocketChannel raw = rawConnection()) {
            raw.write(AgentCodec.encode(0, AgentMessage.Hello.current()));
            assertEquals(4, ((AgentMessage.HelloOk) AgentCodec.read(raw).message()).version());
            raw.write(AgentCodec.encode(6, new AgentMessage.ProcSignal(1, 11)));
            AgentCodec.Frame f = AgentCodec.read(raw);
            assertEquals(Kind.INVALID, ((AgentMessage.Failure) f.message()).toException().kind());
        }
    }
}
