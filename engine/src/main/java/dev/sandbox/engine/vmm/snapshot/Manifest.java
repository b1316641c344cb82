package dev.sandbox.engine.vmm.snapshot;

import dev.sandbox.engine.Cidr;
import dev.sandbox.engine.NetworkSpec;
import dev.sandbox.engine.SandboxSpec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * What a paused sandbox's snapshot folder says about itself: the spec it was created with. Written and synced with
 * the snapshot (in a {@link SnapshotFile}, so checksummed), so that the folder alone is enough to take the sandbox
 * back when every other record of it is lost. Text, one {@code key=value} a line. A sandbox with a network also
 * keeps its policy and its network slot (its host address), which stays reserved while it is paused.
 */
public final class Manifest {
    public static final String FILE = "manifest";
    static final long MAX_BYTES = 16384;

    private Manifest() {
    }

    public static void write(Path dir, SandboxSpec spec) throws IOException {
        write(dir, spec, OptionalInt.empty());
    }

    public static void write(Path dir, SandboxSpec spec, OptionalInt netSlot) throws IOException {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("id", spec.id());
        fields.put("template", spec.template());
        fields.put("vcpus", Integer.toString(spec.vcpus()));
        fields.put("memory_mb", Integer.toString(spec.memoryMb()));
        if (spec.diskMb() != 0) {
            fields.put("disk_mb", Integer.toString(spec.diskMb()));
        }
        NetworkSpec net = spec.network();
        if (net != null) {
            fields.put("network.internet", Boolean.toString(net.internet()));
            fields.put("network.allow_out", join(net.allowOut()));
            fields.put("network.deny_out", join(net.denyOut()));
            netSlot.ifPresent(slot -> fields.put("network.slot", Integer.toString(slot)));
        }
        fields.put("state", "paused");
        StringBuilder text = new StringBuilder();
        fields.forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
        SnapshotFile.write(dir.resolve(FILE), text.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** The spec in {@code dir}'s manifest; fails on a missing, damaged or incomplete one. */
    public static SandboxSpec read(Path dir) throws IOException, SnapshotFormatException {
        Map<String, String> fields = fields(dir);
        try {
            SandboxSpec spec = new SandboxSpec(require(fields, "id"), require(fields, "template"),
                    Integer.parseInt(require(fields, "vcpus")), Integer.parseInt(require(fields, "memory_mb")));
            if (fields.containsKey("disk_mb")) {
                spec = spec.withDiskMb(Integer.parseInt(fields.get("disk_mb")));
            }
            if (fields.containsKey("network.internet")) {
                spec = spec.withNetwork(new NetworkSpec(Boolean.parseBoolean(fields.get("network.internet")),
                        split(fields.get("network.allow_out")), split(fields.get("network.deny_out"))));
            }
            return spec;
        } catch (IllegalArgumentException e) { // NumberFormatException too
            throw new SnapshotFormatException("manifest in " + dir + " has a bad value: " + e.getMessage());
        }
    }

    /** The network slot the paused sandbox in {@code dir} holds; empty when it has no network. */
    public static OptionalInt netSlot(Path dir) throws IOException, SnapshotFormatException {
        String slot = fields(dir).get("network.slot");
        try {
            return slot == null ? OptionalInt.empty() : OptionalInt.of(Integer.parseInt(slot));
        } catch (NumberFormatException e) {
            throw new SnapshotFormatException("manifest in " + dir + " has a bad network slot: " + slot);
        }
    }

    private static String join(List<Cidr> cidrs) {
        return String.join(",", cidrs.stream().map(Cidr::toString).toList());
    }

    private static List<Cidr> split(String text) {
        List<Cidr> cidrs = new ArrayList<>();
        if (text != null && !text.isEmpty()) {
            for (String c : text.split(",")) {
                cidrs.add(Cidr.parse(c));
            }
        }
        return cidrs;
    }

    private static Map<String, String> fields(Path dir) throws IOException, SnapshotFormatException {
        String text = new String(SnapshotFile.read(dir.resolve(FILE), MAX_BYTES), StandardCharsets.UTF_8);
        Map<String, String> fields = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                fields.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return fields;
    }

    private static String require(Map<String, String> fields, String key) throws SnapshotFormatException {
        String v = fields.get(key);
        if (v == null || v.isEmpty()) {
            throw new SnapshotFormatException("manifest lacks " + key);
        }
        return v;
    }
}
