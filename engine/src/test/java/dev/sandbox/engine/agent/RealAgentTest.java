package dev.sandbox.engine.agent;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One real sandbox-agent binary (Unix-socket mode) and one client for a whole test class. The fields are static,
 * so they belong to whichever class runs now: test classes run one after the other here (no parallel execution).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
abstract class RealAgentTest {

    @TempDir
    static Path dir;

    static AgentTestSupport.RunningAgent agent;
    static AgentClient client;

    @BeforeAll
    static void startAgent() throws Exception {
        agent = new AgentTestSupport.RunningAgent(dir);
        client = agent.connect();
    }

    @AfterAll
    static void stopAgent() throws Exception {
        if (client != null) {
            client.close();
            client = null;
        }
        if (agent != null) {
            agent.close();
            agent = null;
        }
    }

    /** A bare connection to the agent, nothing sent yet: for speaking the protocol by hand. */
    static SocketChannel rawConnection() throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(agent.socket));
            return ch;
        } catch (IOException e) {
            ch.close();
            throw e;
        }
    }

    /** A client that offers at most protocol {@code maxVersion}, as an older host does. */
    static AgentClient clientUpTo(int maxVersion) throws IOException {
        return new AgentClient(rawConnection(), Duration.ofSeconds(30), maxVersion);
    }
}
