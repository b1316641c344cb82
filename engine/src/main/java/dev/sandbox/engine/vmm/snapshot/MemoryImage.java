package dev.sandbox.engine.vmm.snapshot;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a snapshot's guest RAM is: a base file (a full, sparse image, written by a VM that booted) plus, for a VM
 * that was itself restored, a delta file in the snapshot's folder with just the pages written since. The base is
 * never written again once made (restored VMs map it copy-on-write), so a template's base serves every clone and
 * every later pause of each clone writes only its delta. Its size and modification time are kept to notice a base
 * that was replaced under a snapshot.
 *
 * @param delta a file name in the snapshot folder, or empty for none
 */
public record MemoryImage(Path base, long baseSize, long baseModified, String delta, long deltaPages,
                          long deltaCrc) {

    /** A base file as it is now, without a delta. */
    public static MemoryImage of(Path base) throws IOException {
        return new MemoryImage(base.toAbsolutePath(), Files.size(base), Files.getLastModifiedTime(base).toMillis(),
                "", 0, 0);
    }

    public MemoryImage withDelta(String name, long pages, long crc) {
        return new MemoryImage(base, baseSize, baseModified, name, pages, crc);
    }

    public boolean hasDelta() {
        return !delta.isEmpty();
    }

    /** Refuses a base that is missing, of another size than the RAM, or changed since the snapshot was taken. */
    public void checkBase(long memoryBytes) throws IOException {
        if (!Files.isRegularFile(base)) {
            throw new SnapshotFormatException("the memory base " + base + " is missing");
        }
        if (baseSize != memoryBytes) {
            throw new SnapshotFormatException("the memory base is " + baseSize + " bytes, the RAM " + memoryBytes);
        }
        if (Files.size(base) != baseSize || Files.getLastModifiedTime(base).toMillis() != baseModified) {
            throw new SnapshotFormatException("the memory base " + base + " changed after the snapshot was taken");
        }
    }
}
