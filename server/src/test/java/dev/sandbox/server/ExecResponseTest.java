package dev.sandbox.server;

import dev.sandbox.engine.agent.ExecResult;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExecResponseTest {

    private static ExecResult result(byte[] out, byte[] err, int exit, boolean timedOut, boolean truncated) {
        return new ExecResult(out, err, exit, 0, timedOut, truncated, false, Duration.ofMillis(1500));
    }

    @Test
    void utf8StaysText() {
        ExecResponse r = ExecResponse.of("sb-1", "echo", result("héllo ✓\n".getBytes(StandardCharsets.UTF_8),
                new byte[0], 0, false, false));
        assertEquals("utf-8", r.encoding());
        assertEquals("héllo ✓\n", r.stdout());
        assertEquals(1500, r.durationMs());
    }

    @Test
    void binaryStderrMakesBothBase64() {
        ExecResponse r = ExecResponse.of("sb-1", "x", result("text".getBytes(), new byte[]{(byte) 0xc3}, 1, false,
                false));
        assertEquals("base64", r.encoding());
        assertEquals("text", new String(Base64.getDecoder().decode(r.stdout())));
        assertEquals(1, r.exitCode());
    }

    @Test
    void aTimeoutIs124WhateverTheSignal() {
        ExecResponse r = ExecResponse.of("sb-1", "sleep", result(new byte[0], new byte[0], 137, true, false));
        assertEquals(124, r.exitCode());
        assertTrue(r.timedOut());
    }

    @Test
    void truncationOfEitherStreamIsFlagged() {
        assertTrue(ExecResponse.of("sb-1", "yes", result(new byte[0], new byte[0], 0, false, true)).truncated());
    }

    /** The agent is told the cap, but a guest that sends more is cut here too, and never inside a character. */
    @Test
    void outputPastTheCapIsCutHostSideAndFlagged() {
        byte[] out = "ab✓✓✓".getBytes(StandardCharsets.UTF_8);  // 2 + 3 × 3 bytes
        ExecResponse r = ExecResponse.of("sb-1", "x", result(out, "ok".getBytes(), 0, false, false), 6);
        assertEquals("ab✓", r.stdout(), "cut at 6 bytes would split the second ✓: cut before it");
        assertEquals("ok", r.stderr());
        assertEquals("utf-8", r.encoding());
        assertTrue(r.truncated());
        ExecResponse whole = ExecResponse.of("sb-1", "x", result(out, new byte[0], 0, false, false), 11);
        assertEquals("ab✓✓✓", whole.stdout());
        assertEquals(false, whole.truncated());
    }
}
