package dev.sandbox.engine.agent;

import java.util.List;

/**
 * A guest directory's entries, in the directory's own order ("." and ".." left out); {@code truncated} when it
 * held more than the listing's bound and some were left out (which ones is up to the guest file system).
 */
public record DirListing(String path, List<DirEntry> entries, boolean truncated) {
    public DirListing {
        entries = List.copyOf(entries);
    }
}
