package dev.sandbox.server;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The durable record of destroys: one empty file per sandbox being destroyed, fsynced (with its folder) before any
 * of the sandbox's snapshot files is deleted, removed once they are. The record store is only a hot index (Chronicle
 * Map does not fsync, and its recovery has lost statuses), so this journal is what lets a start tell a snapshot
 * whose destroy was answered from one whose paused status was lost: only the former may be deleted.
 */
final class DestroyJournal {

    private static final Logger LOG = LoggerFactory.getLogger(DestroyJournal.class);

    private final Path dir;

    DestroyJournal(Path dir) {
        this.dir = dir;
    }

    /** Records, durably, that {@code id} is being destroyed; returns once it is on disk. */
    void record(String id) {
        try {
            Files.createDirectories(dir);
            Path entry = dir.resolve(id);
            try (FileChannel ch = FileChannel.open(entry, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            try (FileChannel folder = FileChannel.open(dir, StandardOpenOption.READ)) {
                folder.force(true);  // the new name itself must survive a power loss
            }
        } catch (IOException e) {
            // Without the record the snapshot must not be deleted: the destroy fails instead.
            throw new UncheckedIOException("cannot record the destroy of " + id + " in " + dir, e);
        }
    }

    /** The destroy of {@code id} finished: its snapshot files are gone. */
    void done(String id) {
        try {
            Files.deleteIfExists(dir.resolve(id));
        } catch (IOException e) {
            LOG.warn("cannot remove destroy record {}: the next start finishes it again", id, e);
        }
    }

    /** Destroys recorded but not finished (the process died in between). */
    Set<String> pending() {
        Set<String> ids = new TreeSet<>();
        if (!Files.isDirectory(dir)) {
            return ids;
        }
        try (Stream<Path> entries = Files.list(dir)) {
            entries.map(p -> p.getFileName().toString()).filter(Ids::plausible).forEach(ids::add);
        } catch (IOException e) {
            LOG.warn("cannot list destroy records in {}: {}", dir, e.toString());
        }
        return ids;
    }
}
