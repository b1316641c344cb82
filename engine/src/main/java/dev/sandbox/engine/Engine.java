package dev.sandbox.engine;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The embeddable entry point: open one per process, create sandboxes from it, close it to destroy them all.
 * <pre>{@code
 * try (Engine engine = Engine.open(EngineConfig.defaults(dataDir, guestDir));
 *      Sandbox sb = engine.create(new SandboxSpec("sb-1", "minimal", 1, 256))) {
 *     ExecResult r = sb.exec(ExecRequest.shell("echo hello"));
 * }
 * }</pre>
 */
public interface Engine extends AutoCloseable {

    /** Opens the KVM engine: checks /dev/kvm and the guest folder, fails with {@link EngineException} if unusable. */
    static Engine open(EngineConfig config) {
        return dev.sandbox.engine.vmm.KvmEngine.open(config);
    }

    EngineConfig config();

    /** Boots a sandbox and returns once its agent answers. */
    Sandbox create(SandboxSpec spec);

    Optional<Sandbox> find(String id);

    Collection<Sandbox> sandboxes();

    /**
     * Takes back a sandbox that was paused when a previous engine on the same data dir closed or died: its snapshot
     * is still on disk. Returns it PAUSED (the snapshot is checked on resume), or empty if there is no snapshot.
     */
    default Optional<Sandbox> recover(SandboxSpec spec) {
        return Optional.empty();
    }

    /**
     * The sandboxes whose paused snapshots are on disk in the data dir, read from each snapshot folder's manifest
     * (written and synced with the snapshot), whether or not this engine knows them yet: what a server recovers from
     * when its own records are missing or damaged. Folders without a readable manifest are left out.
     */
    default List<SandboxSpec> snapshotsOnDisk() {
        return List.of();
    }

    /**
     * VM exits of every vCPU so far, by kind (io, mmio, hlt, intr, other), counted for the whole process so the
     * sums never drop (a paused or destroyed sandbox keeps its share). Empty where the engine runs no vCPUs.
     */
    default Map<String, Long> vmExits() {
        return Map.of();
    }

    /**
     * Moves snapshot folders that belong to no sandbox of this engine into the data dir's {@code quarantine/}
     * folder (never deletes them: an operator decides) and returns their ids.
     */
    default List<String> quarantineUnclaimed() {
        return List.of();
    }

    /** Every template: built-in ones (guest folder) and custom ones (built, building or failed), by name. */
    default List<TemplateInfo> templates() {
        return List.of();
    }

    default Optional<TemplateInfo> template(String name) {
        return templates().stream().filter(t -> t.name().equals(name)).findFirst();
    }

    /**
     * Starts building a custom template in the background and returns it BUILDING (recorded on disk before this
     * returns); {@link #template} shows it READY or FAILED later. INVALID_SPEC for a bad recipe (messages name the
     * field: {@code packages[2]: ...}) or a base that is not a READY disk template; INVALID_STATE for a name taken
     * (by a built-in or custom template). See {@link dev.sandbox.engine.templates.TemplateCatalog}.
     */
    default TemplateInfo buildTemplate(TemplateRecipe recipe) {
        throw new EngineException(EngineException.Kind.CONFIG, "this engine cannot build templates");
    }

    /**
     * Removes a custom template and its files. INVALID_STATE while a sandbox (running or paused) or a build uses it,
     * or for a built-in one; INVALID_SPEC for an unknown name.
     */
    default void deleteTemplate(String name) {
        throw new EngineException(EngineException.Kind.CONFIG, "this engine cannot delete templates");
    }

    /**
     * Keeps {@code size} clones of {@code shape} restored ahead of time (0 stops and releases them): a create of that
     * shape then gets one at once, with no VM work on its path, and the pool refills in the background. Clones idle
     * longer than {@code idle} are released, and the pool stays empty until the next create of that shape.
     */
    default void configurePool(PoolShape shape, int size, java.time.Duration idle) {
        throw new EngineException(EngineException.Kind.CONFIG, "this engine has no warm pool");
    }

    /** Who admits pool clones ({@link PoolGate#OPEN} until set). */
    default void poolGate(PoolGate gate) {
    }

    /** Clones ready now, per configured shape. */
    default Map<PoolShape, Integer> pooled() {
        return Map.of();
    }

    /** Stops every running sandbox; paused ones keep their snapshots on disk for {@link #recover}. */
    @Override
    void close();
}
