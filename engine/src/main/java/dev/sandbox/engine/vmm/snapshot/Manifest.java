package dev.sandbox.engine.vmm.snapshot;

import dev.sandbox.engine.SandboxSpec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a paused sandbox's snapshot folder says about itself: the spec it was created with. Written and synced with
 * the snapshot (in a {@link SnapshotFile}, so checksummed), so that the folder alone is enough to take the sandbox
 * back when every other record of it is lost. Text, one {@code key=value} a line.
 */
public final class Manifest {
    public static final String FILE = "manifest";
    static final long MAX_BYTES = 4096;

    private Manifest() {
    }

    public static void write(Path dir, SandboxSpec spec) throws IOException {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("id", spec.id());
        fields.put("template", spec.template());
        fields.put("vcpus", Integer.toString(spec.vcpus()));
        fields.put("memory_mb", Integer.toString(spec.memoryMb()));
        fields.put("state", "paused");
        StringBuilder text = new StringBuilder();
        fields.forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
        SnapshotFile.write(dir.resolve(FILE), text.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** The spec in {@code dir}'s manifest; fails on a missing, damaged or incomplete one. */
    public static SandboxSpec read(Path dir) throws IOException, SnapshotFormatException {
        String text = new String(SnapshotFile.read(dir.resolve(FILE), MAX_BYTES), StandardCharsets.UTF_8);
        Map<String, String> fields = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                fields.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        try {
            return new SandboxSpec(require(fields, "id"), require(fields, "template"),
                    Integer.parseInt(require(fields, "vcpus")), Integer.parseInt(require(fields, "memory_mb")));
        } catch (NumberFormatException e) {
            throw new SnapshotFormatException("manifest in " + dir + " has a bad number: " + e.getMessage());
        }
    }

    private static String require(Map<String, String> fields, String key) throws SnapshotFormatException {
        String v = fields.get(key);
        if (v == null || v.isEmpty()) {
            throw new SnapshotFormatException("manifest lacks " + key);
        }
        return v;
    }
}
