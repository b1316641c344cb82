package dev.sandbox.server;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.Sandbox;
import dev.sandbox.engine.SandboxNetwork;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.server.SandboxRecord.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * At start, brings the record store in line with what is on disk. The snapshot folders (each with a manifest the
 * engine synced before the pause answered) and the {@link DestroyJournal} are the durable truth; the store is a hot
 * index that a crash may have rolled back or lost. So:
 * <ul>
 *   <li>a snapshot whose destroy was recorded is deleted (finishing that destroy);</li>
 *   <li>any other snapshot with a manifest comes back as a paused sandbox, its record re-created or corrected;</li>
 *   <li>live records with no VM left (running ones died with the old process) become stopped;</li>
 *   <li>folders no sandbox claims (no readable manifest, no record) go to the engine's quarantine, never deleted,
 *       and only when every take-back succeeded (a failed one may be a folder we just could not read yet).</li>
 * </ul>
 * An engine that did not open touches nothing: without it nothing on disk can be judged.
 */
final class StartupReconciler {

    private static final Logger LOG = LoggerFactory.getLogger(StartupReconciler.class);

    private final Engine engine;
    private final RecordStore store;
    private final DestroyJournal journal;
    private final Supplier<Instant> now;
    private boolean unsure;

    StartupReconciler(Engine engine, RecordStore store, DestroyJournal journal, Supplier<Instant> now) {
        this.engine = engine;
        this.store = store;
        this.journal = journal;
        this.now = now;
    }

    void run() {
        if (engine instanceof UnavailableEngine down) {
            LOG.warn("engine unavailable ({}): records and snapshot files left as they are", down.reason());
            return;
        }
        Set<String> destroying = journal.pending();
        List<SandboxSpec> onDisk;
        try {
            onDisk = engine.snapshotsOnDisk();
        } catch (RuntimeException e) {
            LOG.error("cannot list the snapshots on disk ({}): keeping every folder", e.toString());
            onDisk = List.of();
            unsure = true;
        }
        for (SandboxSpec spec : onDisk) {
            if (destroying.remove(spec.id())) {
                finishDestroy(spec);
            } else {
                takeBack(spec);
            }
        }
        for (String id : destroying) {
            // recorded, and its files are already gone: only the record may lag behind
            markStopped(id, "destroyed on request");
            journal.done(id);
        }
        for (SandboxRecord rec : store.all()) {
            if (rec.status().live() && engine.find(rec.id()).isEmpty()
                    && !(rec.status() == Status.PAUSED && recoverWithoutManifest(rec))) {
                markStopped(rec.id(), "the server restarted; the VM ended with the previous process");
            }
        }
        if (unsure) {
            LOG.warn("some snapshots could not be taken back: unclaimed snapshot folders are left where they are");
            return;
        }
        try {
            List<String> moved = engine.quarantineUnclaimed();
            if (!moved.isEmpty()) {
                LOG.warn("snapshot folders that belong to no sandbox moved to quarantine: {}", moved);
            }
        } catch (RuntimeException e) {
            LOG.warn("quarantining unclaimed snapshots failed: {}", e.toString());
        }
    }

    /** The process died between recording a destroy and deleting the files: delete them now. */
    private void finishDestroy(SandboxSpec spec) {
        try {
            engine.recover(spec).ifPresent(Sandbox::close);
            markStopped(spec.id(), "destroyed on request");
            journal.done(spec.id());
            LOG.info("finished the recorded destroy of {}", spec.id());
        } catch (RuntimeException e) {
            unsure = true;
            LOG.warn("cannot finish the recorded destroy of {}: {}", spec.id(), e.toString());
        }
    }

    /** A snapshot that no recorded destroy claims is a paused sandbox, whatever the store says. */
    private void takeBack(SandboxSpec spec) {
        String id = spec.id();
        try {
            if (engine.find(id).isEmpty() && engine.recover(spec).isEmpty()) {
                unsure = true;
                LOG.warn("snapshot {} is listed on disk but the engine did not take it back", id);
                return;
            }
        } catch (RuntimeException e) {
            unsure = true;
            LOG.warn("cannot take back the paused sandbox {}: {}", id, e.toString());
            return;
        }
        Instant t = now.get();
        // the engine may have given it other addresses than the last process did: the record shows the engine's
        Optional<SandboxNetwork> net = engine.find(id).flatMap(Sandbox::network);
        SandboxRecord rec = store.get(id).orElse(null);
        if (rec == null) {
            SandboxRecord made = SandboxRecord.fromSnapshot(spec, net, t);
            if (store.insert(made)) {
                LOG.warn("sandbox {} had no record but a paused snapshot: record re-created from its manifest", id);
            } else {
                LOG.error("sandbox {}: cannot re-create its record (store full?); its snapshot stays on disk", id);
            }
        } else if (rec.status() != Status.PAUSED) {
            store.update(id, r -> r.withStatus(Status.PAUSED, t, "taken back from its snapshot on disk at start")
                    .withAddresses(net));
            LOG.warn("sandbox {} was recorded {} but its paused snapshot is on disk: paused again", id,
                    rec.status().wire());
        } else {
            store.update(id, r -> r.withAddresses(net));
            LOG.info("sandbox {} is paused on disk and can be resumed", id);
        }
    }

    /** A paused record whose folder predates manifests: the engine may still take it back by its spec. */
    private boolean recoverWithoutManifest(SandboxRecord rec) {
        try {
            Optional<Sandbox> found = engine.recover(rec.spec());
            found.ifPresent(vm -> {
                store.update(rec.id(), r -> r.withAddresses(vm.network()));
                LOG.info("sandbox {} is paused on disk and can be resumed", rec.id());
            });
            return found.isPresent();
        } catch (RuntimeException e) {
            unsure = true;
            LOG.warn("cannot take back paused sandbox {}: {}", rec.id(), e.toString());
            return false;
        }
    }

    private void markStopped(String id, String why) {
        Instant t = now.get();
        store.update(id, r -> r.status().live() ? r.withStatus(Status.STOPPED, t, why) : r);
    }
}
