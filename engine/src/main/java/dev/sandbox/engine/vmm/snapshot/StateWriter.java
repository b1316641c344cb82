package dev.sandbox.engine.vmm.snapshot;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** Builds a snapshot payload from typed values, big-endian; {@link StateReader} reads it back in the same order. */
public final class StateWriter {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final DataOutputStream out = new DataOutputStream(bytes);

    public StateWriter u8(int v) {
        if (v < 0 || v > 0xff) {
            throw new IllegalArgumentException("u8 out of range: " + v);
        }
        return put(() -> out.writeByte(v));
    }

    public StateWriter u16(int v) {
        if (v < 0 || v > 0xffff) {
            throw new IllegalArgumentException("u16 out of range: " + v);
        }
        return put(() -> out.writeShort(v));
    }

    public StateWriter i32(int v) {
        return put(() -> out.writeInt(v));
    }

    public StateWriter i64(long v) {
        return put(() -> out.writeLong(v));
    }

    public StateWriter bool(boolean v) {
        return put(() -> out.writeBoolean(v));
    }

    /** An i32 length, then the bytes. */
    public StateWriter bytes(byte[] v) {
        return put(() -> {
            out.writeInt(v.length);
            out.write(v);
        });
    }

    /** UTF-8, length-prefixed like {@link #bytes(byte[])}. */
    public StateWriter string(String v) {
        return bytes(v.getBytes(StandardCharsets.UTF_8));
    }

    /** A tag the reader checks with {@link StateReader#expectSection}, so a misaligned read fails at once. */
    public StateWriter section(String tag) {
        return string(tag);
    }

    public byte[] toByteArray() {
        return bytes.toByteArray();
    }

    private interface Write {
        void run() throws IOException;
    }

    // A ByteArrayOutputStream never throws; DataOutputStream just declares it.
    private StateWriter put(Write w) {
        try {
            w.run();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }
}
