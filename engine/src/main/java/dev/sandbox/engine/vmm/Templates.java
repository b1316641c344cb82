package dev.sandbox.engine.vmm;

import dev.sandbox.engine.vmm.snapshot.MicrovmSnapshot;
import dev.sandbox.engine.vmm.snapshot.SnapshotCodec;
import dev.sandbox.engine.vmm.snapshot.SnapshotFile;
import dev.sandbox.ffi.SparseFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The template snapshots under {@code <data>/.templates/}: which are in use, and removing those that are not. A
 * template is in use while a running clone maps its memory file or reads its disk layer, or a paused sandbox's
 * snapshot names either (a paused clone cannot resume without them); such a template is never removed. Unused ones go when they
 * are of another guest image or host (their fingerprint is no longer made) or beyond the count and disk bounds,
 * least recently used first (a clone touches {@link #LAST_USED}).
 */
final class Templates {
    private static final System.Logger LOG = System.getLogger(Templates.class.getName());
    static final String LAST_USED = "last-used";
    /**
     * {@code <template>-<vcpus>cpu-<memory>mb[-<disk>disk]-<fingerprint>}, the disk size in MiB for disk templates,
     * the fingerprint a hash in hex (8 or 16 digits).
     */
    static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile(
            "([a-z0-9][a-z0-9_-]*)-(\\d+)cpu-(\\d+)mb(?:-(\\d+)disk)?-[0-9a-f]{8,16}");

    private final Path dir;
    private final Path snapshotsDir;
    private final int maxCount;
    private final long maxBytes;
    /** Memory base files that running VMs map (from the engine's live sandboxes). */
    private final Supplier<Set<Path>> mappedBases;

    Templates(Path dir, Path snapshotsDir, int maxCount, long maxBytes, Supplier<Set<Path>> mappedBases) {
        this.dir = dir;
        this.snapshotsDir = snapshotsDir;
        this.maxCount = maxCount;
        this.maxBytes = maxBytes;
        this.mappedBases = mappedBases;
    }

    /** Marks {@code template} as just used, for the least-recently-used order. */
    void touch(Path template) {
        try {
            Path f = template.resolve(LAST_USED);
            if (!Files.exists(f)) {
                Files.createFile(f);
            }
            Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis()));
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "touching {0}: {1}", template, e.toString());
        }
    }

    /** Whether a running VM or a paused snapshot needs {@code template}'s files. */
    boolean inUse(Path template) {
        return inUse(template, usedBases());
    }

    private static boolean inUse(Path template, Set<Path> bases) {
        Path t = template.toAbsolutePath().normalize();
        return bases.stream().anyMatch(b -> b.toAbsolutePath().normalize().startsWith(t));
    }

    /**
     * Every memory base a running VM maps or a paused snapshot in the data dir names, and every root disk layer
     * either reads (a clone's disk lies over its template's top layer).
     */
    Set<Path> usedBases() {
        Set<Path> bases = new HashSet<>(mappedBases.get());
        if (!Files.isDirectory(snapshotsDir)) {
            return bases;
        }
        try (Stream<Path> folders = Files.list(snapshotsDir)) {
            for (Path folder : folders.filter(Files::isDirectory).toList()) {
                Path state = folder.resolve(Snapshots.STATE_FILE);
                if (!Files.isRegularFile(state)) {
                    continue;
                }
                try {
                    MicrovmSnapshot saved = SnapshotCodec.decode(SnapshotFile.read(state, Snapshots.MAX_STATE));
                    bases.add(saved.memory().base());
                    if (saved.disk() != null) {
                        saved.disk().layers().forEach(l -> bases.add(l.path()));
                    }
                } catch (IOException | RuntimeException e) {
                    // unreadable: it cannot resume from anything; leave it to whoever looks at it
                    LOG.log(System.Logger.Level.DEBUG, "reading {0}: {1}", state, e.toString());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + snapshotsDir + " failed", e);
        }
        return bases;
    }

    /**
     * Removes unused templates: every one not {@code current} (another guest image, host or format), then the
     * least recently used of the rest beyond {@code maxCount} templates or {@code maxBytes} on disk. Returns the
     * names removed. A template in use always stays, whatever the bounds say.
     */
    List<String> prune(java.util.function.Predicate<Path> current) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<Path> all;
        try (Stream<Path> s = Files.list(dir)) {
            all = new ArrayList<>(s.filter(Files::isDirectory).toList());
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + dir + " failed", e);
        }
        Set<Path> bases = usedBases();
        List<String> removed = new ArrayList<>();
        // most recently used first: what is kept within the bounds
        all.sort(Comparator.comparingLong(Templates::lastUsed).reversed());
        int kept = 0;
        long keptBytes = 0;
        for (Path t : all) {
            boolean isCurrent = current.test(t);
            long bytes = diskBytes(t);
            boolean withinBounds = kept < maxCount && keptBytes + bytes <= maxBytes;
            if (inUse(t, bases) || (isCurrent && withinBounds)) {
                kept++;
                keptBytes += bytes;
                continue;
            }
            Snapshots.deleteTree(t);
            removed.add(t.getFileName().toString());
        }
        if (!removed.isEmpty()) {
            LOG.log(System.Logger.Level.INFO, "removed unused templates: {0}", removed);
        }
        return removed;
    }

    private static long lastUsed(Path template) {
        try {
            Path f = template.resolve(LAST_USED);
            return Files.getLastModifiedTime(Files.exists(f) ? f : template).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }

    /** Blocks the files really take (memory files are sparse). */
    static long diskBytes(Path template) {
        try (Stream<Path> files = Files.walk(template)) {
            long total = 0;
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                total += SparseFile.dataBytes(f);
            }
            return total;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
