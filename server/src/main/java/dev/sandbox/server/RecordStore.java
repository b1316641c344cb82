package dev.sandbox.server;

import net.openhft.chronicle.map.ChronicleMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * Every sandbox record, id → record as JSON bytes, in a Chronicle Map persisted to {@code sandboxes.dat} in the
 * data dir. JSON rather than a fixed layout: records evolve, and unknown fields are ignored on read.
 * <p>
 * A marker file says the map was closed cleanly; without it (a crash, SIGKILL) the map is opened in recovery mode.
 * A file that cannot be recovered is moved aside, so the server always starts.
 */
final class RecordStore implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RecordStore.class);
    private static final int STRIPES = 64;

    private final ChronicleMap<String, byte[]> map;
    private final Path cleanMarker;
    private final Json json;
    /** Read-modify-write of one id is serialised here, so an exec touch never undoes a status change. */
    private final Object[] stripes = new Object[STRIPES];

    private RecordStore(ChronicleMap<String, byte[]> map, Path cleanMarker, Json json) {
        this.map = map;
        this.cleanMarker = cleanMarker;
        this.json = json;
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new Object();
        }
    }

    static RecordStore open(Path dataDir, long maxEntries, Json json) {
        try {
            Files.createDirectories(dataDir);
            Path file = dataDir.resolve("sandboxes.dat");
            Path marker = dataDir.resolve("sandboxes.clean");
            boolean clean = Files.deleteIfExists(marker);
            return new RecordStore(openMap(file, maxEntries, clean), marker, json);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the sandbox store in " + dataDir, e);
        }
    }

    private static ChronicleMap<String, byte[]> openMap(Path file, long maxEntries, boolean clean)
            throws IOException {
        ChronicleClassPath.ensure();
        if (!Files.exists(file)) {
            return builder(maxEntries).createPersistedTo(file.toFile());
        }
        try {
            return clean ? builder(maxEntries).createPersistedTo(file.toFile())
                    : builder(maxEntries).recoverPersistedTo(file.toFile(), true);
        } catch (RuntimeException | IOException e) {
            Path aside = file.resolveSibling(file.getFileName() + ".broken-" + System.currentTimeMillis());
            LOG.error("sandbox store {} unreadable ({}); moved to {}, starting empty", file, e.toString(), aside);
            Files.move(file, aside, StandardCopyOption.REPLACE_EXISTING);
            return builder(maxEntries).createPersistedTo(file.toFile());
        }
    }

    private static net.openhft.chronicle.map.ChronicleMapBuilder<String, byte[]> builder(long maxEntries) {
        return ChronicleMap.of(String.class, byte[].class)
                .name("sandboxes")
                .entries(maxEntries)
                .averageKey("sb-0123456789ab")
                .averageValueSize(400)
                .maxBloatFactor(4.0)
                // Chronicle's own exit hook would close the map while ours still records the VMs it stops
                .skipCloseOnExitHook(true);
    }

    Optional<SandboxRecord> get(String id) {
        byte[] bytes = map.get(id);
        return bytes == null ? Optional.empty() : Optional.of(json.read(bytes, SandboxRecord.class));
    }

    /** Every record, oldest first. */
    List<SandboxRecord> all() {
        List<SandboxRecord> out = new ArrayList<>();
        map.forEach((id, bytes) -> out.add(json.read(bytes, SandboxRecord.class)));
        out.sort(Comparator.comparing(SandboxRecord::createdAt).thenComparing(SandboxRecord::id));
        return out;
    }

    /** Stores a new record; false if the id is taken. */
    boolean insert(SandboxRecord record) {
        synchronized (stripe(record.id())) {
            return map.putIfAbsent(record.id(), json.write(record)) == null;
        }
    }

    /** Applies {@code change} to the record atomically; empty if there is none. */
    Optional<SandboxRecord> update(String id, UnaryOperator<SandboxRecord> change) {
        synchronized (stripe(id)) {
            Optional<SandboxRecord> current = get(id);
            if (current.isEmpty()) {
                return current;
            }
            SandboxRecord next = change.apply(current.get());
            map.put(id, json.write(next));
            return Optional.of(next);
        }
    }

    void remove(String id) {
        synchronized (stripe(id)) {
            map.remove(id);
        }
    }

    int size() {
        return map.size();
    }

    private Object stripe(String id) {
        return stripes[Math.floorMod(id.hashCode(), STRIPES)];
    }

    @Override
    public void close() {
        if (map.isOpen()) {
            map.close();
            try {
                Files.createFile(cleanMarker);
            } catch (IOException e) {
                LOG.warn("cannot write {}: the next start will recover the store", cleanMarker, e);
            }
        }
    }
}
