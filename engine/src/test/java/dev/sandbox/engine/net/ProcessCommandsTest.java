package dev.sandbox.engine.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProcessCommandsTest {
    private final Commands commands = Commands.processes(Duration.ofSeconds(10));

    @Test
    void returnsStdoutAndFeedsStdin() {
        assertEquals("hello\n", commands.run("echo", "hello"));
        assertEquals("from stdin", commands.run(List.of("cat"), "from stdin"));
        String big = "x".repeat(1 << 20); // more than a pipe holds, both ways
        assertEquals(big.length(), commands.run(List.of("cat"), big).length());
    }

    @Test
    void failureCarriesTheCommandExitAndStderr() {
        NetworkException e = assertThrows(NetworkException.class,
                () -> commands.run("sh", "-c", "echo out; echo 'what went wrong' >&2; exit 3"));
        assertEquals("sh -c echo out; echo 'what went wrong' >&2; exit 3 failed (exit 3): what went wrong",
                e.getMessage());
    }

    @Test
    void aHungCommandIsKilledAtTheTimeout() {
        Commands quick = Commands.processes(Duration.ofMillis(300));
        long start = System.nanoTime();
        NetworkException e = assertThrows(NetworkException.class, () -> quick.run("sleep", "30"));
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertTrue(e.getMessage().contains("did not finish in PT0.3S"), e.getMessage());
        assertTrue(ms < 5000, "returned after " + ms + " ms");
    }

    @Test
    void aMissingToolSaysWhatToInstall() {
        NetworkException e = assertThrows(NetworkException.class, () -> commands.run("no-such-tool-sbx"));
        assertTrue(e.getMessage().startsWith("cannot run no-such-tool-sbx"), e.getMessage());
        assertTrue(e.getMessage().contains("iproute2 and nftables"), e.getMessage());
    }
}
