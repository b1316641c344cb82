package dev.sandbox.server;

import dev.sandbox.engine.agent.ExecResult;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The contract's {@code ExecResponse}, plus {@code timed_out} and {@code truncated} (the contract does not close
 * the object). When either stream is not valid UTF-8 both are base64, so a client decodes them the same way.
 */
record ExecResponse(String sandboxId, String cmd, String stdout, String stderr, int exitCode, long durationMs,
                    String encoding, boolean timedOut, boolean truncated) {

    /** What {@code timeout(1)} answers for a command it killed; clients already know it. */
    static final int TIMED_OUT_EXIT_CODE = 124;

    static ExecResponse of(String sandboxId, String cmd, ExecResult r) {
        return of(sandboxId, cmd, r, Integer.MAX_VALUE);
    }

    /**
     * As {@link #of(String, String, ExecResult)}, each stream cut to {@code cap} bytes here too: the agent is told
     * the cap, but what comes out of a guest is not trusted to have obeyed it.
     */
    static ExecResponse of(String sandboxId, String cmd, ExecResult r, int cap) {
        byte[] stdout = cut(r.stdout(), cap);
        byte[] stderr = cut(r.stderr(), cap);
        boolean truncated = r.stdoutTruncated() || r.stderrTruncated() || stdout.length < r.stdout().length
                || stderr.length < r.stderr().length;
        String out = utf8(stdout);
        String err = utf8(stderr);
        String encoding = "utf-8";
        if (out == null || err == null) {
            out = Base64.getEncoder().encodeToString(stdout);
            err = Base64.getEncoder().encodeToString(stderr);
            encoding = "base64";
        }
        int exit = r.timedOut() ? TIMED_OUT_EXIT_CODE : r.exitCode();
        return new ExecResponse(sandboxId, cmd, out, err, exit, r.duration().toMillis(), encoding, r.timedOut(),
                truncated);
    }

    /** At most {@code cap} bytes, not ending inside a UTF-8 sequence (so text stays text). */
    static byte[] cut(byte[] bytes, int cap) {
        if (bytes.length <= cap) {
            return bytes;
        }
        int end = cap;
        int back = 0;
        while (end > 0 && back < 3 && (bytes[end] & 0xC0) == 0x80) {  // bytes[end] continues a sequence
            end--;
            back++;
        }
        return java.util.Arrays.copyOf(bytes, end);
    }

    /** The bytes as a string, or null when they are not valid UTF-8. */
    private static String utf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
