package dev.sandbox.ffi;

/**
 * Anything with a file descriptor that {@link PollSet} can wait on for readability (an eventfd, a TAP). The owner
 * keeps the descriptor open for as long as a set may poll it: a set holds the number, not a reference.
 */
public interface Pollable {
    /** The descriptor; fails once the owner closed it. */
    int fd();
}
