/**
 * The pure-Java parts of VM snapshots: {@link dev.sandbox.engine.vmm.snapshot.SnapshotFile} is the checksummed,
 * atomically replaced container, {@link dev.sandbox.engine.vmm.snapshot.StateWriter} and
 * {@link dev.sandbox.engine.vmm.snapshot.StateReader} the typed codec for its payload. A snapshot on disk is
 * untrusted input: every way it can be wrong ends in a {@link dev.sandbox.engine.vmm.snapshot.SnapshotFormatException}.
 */
package dev.sandbox.engine.vmm.snapshot;
