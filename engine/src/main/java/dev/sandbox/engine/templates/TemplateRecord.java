package dev.sandbox.engine.templates;

import dev.sandbox.engine.TemplateInfo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A custom template's durable record, {@code template} in its folder: text, one {@code key=value} a line, the
 * message escaped onto one line ({@code \n}, {@code \\}). Written whole and synced before any answer depends on
 * it ({@link DurableFiles#replace}), so a reader sees the old record or the new one. {@code base} is null only for
 * a record that could not be read back (listed FAILED so that it can be deleted).
 */
record TemplateRecord(String name, TemplateInfo.Status status, String base, Instant createdAt, long sizeBytes,
                      String message) {

    static final String FILE = "template";
    static final int VERSION = 1;
    /** A record is a few hundred bytes, a failed one's message some KiB: anything bigger is not ours. */
    static final long MAX_BYTES = 64 * 1024;

    TemplateRecord {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(createdAt, "createdAt");
    }

    static TemplateRecord building(String name, String base, Instant now) {
        return new TemplateRecord(name, TemplateInfo.Status.BUILDING, base, now, 0, null);
    }

    TemplateRecord ready(long size, Instant now) {
        return new TemplateRecord(name, TemplateInfo.Status.READY, base, now, size, null);
    }

    TemplateRecord failed(String why) {
        return new TemplateRecord(name, TemplateInfo.Status.FAILED, base, createdAt, 0, why);
    }

    TemplateInfo info() {
        return new TemplateInfo(name, TemplateInfo.Kind.DISK, status, false, sizeBytes, createdAt, base, message);
    }

    void write(Path dir) throws IOException {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("version", Integer.toString(VERSION));
        fields.put("name", name);
        fields.put("status", status.name().toLowerCase(java.util.Locale.ROOT));
        if (base != null) {
            fields.put("base", base);
        }
        fields.put("created_at", createdAt.toString());
        fields.put("size_bytes", Long.toString(sizeBytes));
        if (message != null) {
            fields.put("message", escape(message));
        }
        StringBuilder text = new StringBuilder();
        fields.forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
        DurableFiles.replace(dir.resolve(FILE), text.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** The record in {@code dir}: {@link IOException} for a missing one, IllegalArgumentException for a bad one. */
    static TemplateRecord read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (Files.size(file) > MAX_BYTES) {
            throw new IllegalArgumentException(file + " is over " + MAX_BYTES + " bytes");
        }
        Map<String, String> fields = new LinkedHashMap<>();
        for (String line : Files.readString(file, StandardCharsets.UTF_8).split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                fields.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        if (!Integer.toString(VERSION).equals(fields.get("version"))) {
            throw new IllegalArgumentException(file + ": record version " + fields.get("version") + ", this engine"
                    + " reads " + VERSION);
        }
        try {
            String message = fields.get("message");
            return new TemplateRecord(require(fields, "name"),
                    TemplateInfo.Status.valueOf(require(fields, "status").toUpperCase(java.util.Locale.ROOT)),
                    require(fields, "base"), Instant.parse(require(fields, "created_at")),
                    Long.parseLong(require(fields, "size_bytes")), message == null ? null : unescape(message));
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(file + ": bad created_at: " + e.getMessage());
        }
    }

    private static String require(Map<String, String> fields, String key) {
        String v = fields.get(key);
        if (v == null || v.isEmpty()) {
            throw new IllegalArgumentException("record lacks " + key);
        }
        return v;
    }

    static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r");
    }

    static String unescape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                b.append(switch (n) {
                    case 'n' -> '\n';
                    case 'r' -> '\r';
                    default -> n;
                });
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
