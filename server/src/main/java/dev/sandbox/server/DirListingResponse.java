package dev.sandbox.server;

import dev.sandbox.engine.agent.DirEntry;
import dev.sandbox.engine.agent.DirListing;

import java.util.Comparator;
import java.util.List;

/**
 * The answer of {@code GET /v1/sandboxes/{id}/files?path=} (openapi-extensions.yaml, DirListing): entries sorted
 * by name, {@code mode} as an octal string ("0644"), {@code modified_at} RFC 3339.
 */
record DirListingResponse(String path, List<Entry> entries, boolean truncated) {

    record Entry(String name, String type, long size, String mode, String modifiedAt) {
        static Entry of(DirEntry e) {
            String type = switch (e.type()) {
                case FILE -> "file";
                case DIRECTORY -> "dir";
                case SYMLINK -> "symlink";
                case OTHER -> "other";
            };
            return new Entry(e.name(), type, e.size(), "%04o".formatted(e.mode() & 07777), e.modified().toString());
        }
    }

    static DirListingResponse of(String path, DirListing listing) {
        List<Entry> entries = listing.entries().stream()
                .sorted(Comparator.comparing(DirEntry::name))
                .map(Entry::of)
                .toList();
        return new DirListingResponse(path, entries, listing.truncated());
    }
}
