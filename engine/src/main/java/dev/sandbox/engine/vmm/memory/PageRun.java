package dev.sandbox.engine.vmm.memory;

/** {@code pages} guest pages from guest page {@code guestPage}, stored in a file from page {@code filePage}. */
public record PageRun(long guestPage, long pages, long filePage) {
    public PageRun {
        if (guestPage < 0 || pages <= 0 || filePage < 0) {
            throw new IllegalArgumentException("page run of %d pages at %d from file page %d"
                    .formatted(pages, guestPage, filePage));
        }
    }

    public long endPage() {
        return guestPage + pages;
    }
}
