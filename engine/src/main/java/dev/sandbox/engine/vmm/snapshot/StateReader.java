package dev.sandbox.engine.vmm.snapshot;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads a payload written by {@link StateWriter}. The payload is untrusted: every length is bounded by the caller
 * and by what is left, and every failure is a {@link SnapshotFormatException}, never an index or allocation error.
 */
public final class StateReader {
    // A section tag is a short name; this only bounds what a corrupt tag can make us allocate.
    private static final int MAX_TAG = 256;

    private final ByteBuffer in;

    public StateReader(byte[] payload) {
        in = ByteBuffer.wrap(payload);
    }

    public int u8() {
        return Byte.toUnsignedInt(need(Byte.BYTES, "u8").get());
    }

    public int u16() {
        return Short.toUnsignedInt(need(Short.BYTES, "u16").getShort());
    }

    public int i32() {
        return need(Integer.BYTES, "i32").getInt();
    }

    public long i64() {
        return need(Long.BYTES, "i64").getLong();
    }

    public boolean bool() {
        int v = Byte.toUnsignedInt(need(Byte.BYTES, "bool").get());
        if (v > 1) {
            throw new SnapshotFormatException("bool byte " + v + " at offset " + (in.position() - 1)
                    + " is neither 0 nor 1");
        }
        return v == 1;
    }

    /** A length-prefixed byte array of at most {@code maxLength} bytes. */
    public byte[] bytes(int maxLength) {
        return lengthPrefixed("bytes", maxLength);
    }

    /** A length-prefixed UTF-8 string of at most {@code maxLength} encoded bytes. */
    public String string(int maxLength) {
        int at = in.position();
        byte[] utf8 = lengthPrefixed("string", maxLength);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(utf8))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new SnapshotFormatException("string at offset " + at + " is not valid UTF-8");
        }
    }

    /** Checks the next value is the section tag {@code tag}, i.e. that reader and writer agree where they are. */
    public void expectSection(String tag) {
        int at = in.position();
        String found = string(Math.max(MAX_TAG, tag.length() * 3));
        if (!found.equals(tag)) {
            throw new SnapshotFormatException("expected section '" + tag + "' at offset " + at + ", found '"
                    + found + "'");
        }
    }

    /** An i32 in {@code [min, max]}; {@code what} names the value in the refusal. */
    public int i32InRange(String what, int min, int max) {
        int v = i32();
        if (v < min || v > max) {
            throw new SnapshotFormatException(what + " " + v + " is outside [" + min + ", " + max + "]");
        }
        return v;
    }

    /** An i64 in {@code [min, max]}; {@code what} names the value in the refusal. */
    public long i64InRange(String what, long min, long max) {
        long v = i64();
        if (v < min || v > max) {
            throw new SnapshotFormatException(what + " " + v + " is outside [" + min + ", " + max + "]");
        }
        return v;
    }

    /** The tag of the section that follows, without reading past it (for optional sections in any order). */
    public String peekSection() {
        int at = in.position();
        try {
            return string(MAX_TAG);
        } finally {
            in.position(at);
        }
    }

    /** Whether every byte was read: what follows is optional. */
    public boolean atEnd() {
        return !in.hasRemaining();
    }

    /** Refuses bytes left over: a payload longer than what was read is not the state we think it is. */
    public void expectEnd() {
        if (in.hasRemaining()) {
            throw new SnapshotFormatException(in.remaining() + " trailing bytes after the state at offset "
                    + in.position());
        }
    }

    private byte[] lengthPrefixed(String what, int maxLength) {
        if (maxLength < 0) {
            throw new IllegalArgumentException("maxLength " + maxLength + " is negative");
        }
        int at = in.position();
        int length = i32();
        if (length < 0) {
            throw new SnapshotFormatException(what + " length " + length + " at offset " + at + " is negative");
        }
        if (length > maxLength) {
            throw new SnapshotFormatException(what + " length " + length + " at offset " + at + " is over the limit of "
                    + maxLength);
        }
        need(length, what);
        byte[] v = new byte[length];
        in.get(v);
        return v;
    }

    // Checked before any allocation sized by the payload.
    private ByteBuffer need(int n, String what) {
        if (in.remaining() < n) {
            throw new SnapshotFormatException("truncated: " + what + " at offset " + in.position() + " needs " + n
                    + " bytes, " + in.remaining() + " left");
        }
        return in;
    }
}
