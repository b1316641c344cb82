package dev.sandbox.engine.vmm.arch;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Builds a kernel command line: space-separated printable ASCII, at most {@code capacity - 1} characters so that the
 * terminating NUL fits (the kernel's COMMAND_LINE_SIZE counts it).
 */
public final class Cmdline {
    private final int capacity;
    private final StringBuilder line = new StringBuilder();

    public Cmdline() {
        this(Layout.CMDLINE_MAX_SIZE);
    }

    public Cmdline(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1 (the NUL)");
        }
        this.capacity = capacity;
    }

    /** Appends raw text, for example {@code "console=ttyS0 reboot=k panic=1"}. */
    public Cmdline append(String text) {
        checkPrintable(text);
        String trimmed = text.strip();
        if (!trimmed.isEmpty()) {
            appendToken(trimmed);
        }
        return this;
    }

    /** Appends {@code key=value}; neither may contain spaces, and the key no {@code '='}. */
    public Cmdline put(String key, String value) {
        checkPrintable(key);
        checkPrintable(value);
        if (key.isEmpty() || key.contains(" ") || key.contains("=")) {
            throw new IllegalArgumentException("bad command line key: '" + key + "'");
        }
        if (value.contains(" ")) {
            throw new IllegalArgumentException("command line value has a space: '" + value + "'");
        }
        appendToken(key + "=" + value);
        return this;
    }

    /** Declares a virtio-mmio device for CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES, e.g. {@code 4K@0xd0000000:5}. */
    public Cmdline virtioMmioDevice(long base, long size, int irq) {
        if (size <= 0 || size % 1024 != 0 || base < 0 || irq < 0) {
            throw new IllegalArgumentException("bad virtio-mmio device 0x%x+0x%x irq %d".formatted(base, size, irq));
        }
        return put("virtio_mmio.device", "%dK@0x%x:%d".formatted(size / 1024, base, irq));
    }

    public int length() {
        return line.length();
    }

    public int capacity() {
        return capacity;
    }

    @Override
    public String toString() {
        return line.toString();
    }

    /** The line as ASCII bytes with the terminating NUL. */
    public byte[] toBytesWithNul() {
        byte[] text = line.toString().getBytes(StandardCharsets.US_ASCII);
        return Arrays.copyOf(text, text.length + 1);
    }

    private void appendToken(String token) {
        int separator = line.isEmpty() ? 0 : 1;
        if (line.length() + separator + token.length() + 1 > capacity) {
            throw new IllegalArgumentException("command line would exceed %d bytes with '%s'".formatted(capacity, token));
        }
        if (separator == 1) {
            line.append(' ');
        }
        line.append(token);
    }

    private static void checkPrintable(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                throw new IllegalArgumentException("command line character 0x%x is not printable ASCII".formatted((int) c));
            }
        }
    }
}
