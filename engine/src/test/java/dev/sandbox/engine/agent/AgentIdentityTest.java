package dev.sandbox.engine.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sandbox.engine.agent.AgentException.Kind;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * IDENTITY (protocol 4) against the real sandbox-agent binary in Unix-socket mode: not PID 1 and not privileged, so
 * it must leave the host's hostname and clock alone and say so, and only mix the entropy in.
 */
class AgentIdentityTest extends RealAgentTest {

    private static final Path HOSTNAME = Path.of("/proc/sys/kernel/hostname");

    private static byte[] seed(int n) {
        byte[] a = new byte[n];
        for (int i = 0; i < n; i++) {
            a[i] = (byte) (i * 31);
        }
        return a;
    }

    private static String hostHostname() throws IOException {
        return Files.readString(HOSTNAME).strip();
    }

    @Test
    void answeredButNothingSetWhenNotPrivileged() throws IOException {
        String before = hostHostname();
        AgentClient.IdentitySet set = client.identity("sb-clone-1", Instant.now(), seed(64));
        assertEquals(new AgentClient.IdentitySet(false, false, 64, false), set);
        assertEquals(before, hostHostname(), "an unprivileged agent leaves the hostname alone");
        // an empty hostname (a plain resume) and no entropy are fine too
        assertEquals(new AgentClient.IdentitySet(false, false, 0, false),
                client.identity("", Instant.now(), new byte[0]));
        // the most entropy one call may carry
        assertEquals(AgentClient.MAX_IDENTITY_SEED,
                client.identity("a", Instant.now(), seed(AgentClient.MAX_IDENTITY_SEED)).entropyBytes());
        assertThrows(IllegalArgumentException.class,
                () -> client.identity("a", Instant.now(), new byte[AgentClient.MAX_IDENTITY_SEED + 1]));
    }

    /** Hostnames the kernel command line rule refuses: INVALID from the agent, and the connection goes on. */
    @ParameterizedTest
    @ValueSource(strings = {"a_b", "-lead", ".lead", "with space", "a/b", "nul\0x", "h\u00e9",
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})
    void badHostnameIsInvalidAndTheConnectionSurvives(String hostname) throws IOException {
        String before = hostHostname();
        AgentException e = assertThrows(AgentException.class,
                () -> client.identity(hostname, Instant.now(), seed(8)));
        assertEquals(Kind.INVALID, e.kind());
        assertTrue(e.getMessage().contains("hostname"), e.getMessage());
        assertEquals(before, hostHostname());
        assertTrue(client.isOpen());
        assertEquals("ok\n", client.exec("echo", "ok").stdoutText());
        // 64 bytes is the limit, and within it
        assertEquals(8, client.identity("x".repeat(AgentCodec.MAX_HOSTNAME), Instant.now(), seed(8)).entropyBytes());
    }

    /**
     * Nanos out of range cannot come from an Instant: sent raw, they are INVALID and the connection survives. The
     * seconds are now's, so that even an agent that wrongly set the clock would not move it.
     */
    @Test
    void nanosOutOfRangeIsInvalid() throws IOException {
        long now = Instant.now().getEpochSecond();
        try (SocketChannel raw = rawConnection()) {
            raw.write(AgentCodec.encode(0, AgentMessage.Hello.current()));
            assertEquals(4, ((AgentMessage.HelloOk) AgentCodec.read(raw).message()).version());
            raw.write(AgentCodec.encode(3, new AgentMessage.Identity("ok", now, 1_000_000_000, new byte[1])));
            AgentCodec.Frame f = AgentCodec.read(raw);
            assertEquals(3, f.id());
            assertEquals(Kind.INVALID, assertInstanceOf(AgentMessage.Failure.class, f.message()).toException().kind());
            raw.write(AgentCodec.encode(4, new AgentMessage.Identity("ok", now, 999_999_999, new byte[1])));
            f = AgentCodec.read(raw);
            assertEquals(4, f.id());
            assertEquals(new AgentMessage.IdentityOk(0, 1, false), f.message());
        }
    }

    /**
     * A version 3 host (one from before IDENTITY) is still served; its client refuses identity before sending, and
     * the agent answers a raw IDENTITY on a version 3 connection as an agent without it would: UNSUPPORTED.
     */
    @Test
    void versionThreeIsServedWithoutIdentity() throws IOException {
        try (AgentClient old = clientUpTo(3)) {
            assertEquals(3, old.protocolVersion());
            assertEquals("served\n", old.exec("echo", "served").stdoutText());
            assertFalse(old.syncClock().applied());
            assertFalse(old.addEntropy(seed(16)));
            old.listProcesses(); // version 3 calls still work
            AgentException e = assertThrows(AgentException.class, () -> old.identity("sb-x", Instant.now(), seed(8)));
            assertEquals(Kind.UNSUPPORTED, e.kind());
            assertTrue(e.getMessage().contains("version 3"), e.getMessage());
        }
        try (SocketChannel raw = rawConnection()) {
            raw.write(AgentCodec.encode(0, new AgentMessage.Hello(AgentCodec.MAGIC, 1, 3)));
            assertEquals(3, ((AgentMessage.HelloOk) AgentCodec.read(raw).message()).version());
            raw.write(AgentCodec.encode(5, new AgentMessage.Identity("sb-x", Instant.now().getEpochSecond(), 0,
                    seed(8))));
            AgentCodec.Frame f = AgentCodec.read(raw);
            assertEquals(5, f.id());
            assertEquals(Kind.UNSUPPORTED, assertInstanceOf(AgentMessage.Failure.class, f.message()).toException()
                    .kind());
            raw.write(AgentCodec.encode(6, new AgentMessage.Ping(new byte[] {7})));
            assertInstanceOf(AgentMessage.Pong.class, AgentCodec.read(raw).message(), "the connection goes on");
        }
    }
}
