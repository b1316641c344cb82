package dev.sandbox.engine.agent;

import java.time.Instant;

/**
 * One entry of a guest directory listing, as {@code lstat} saw it: a symlink is listed as one (its size is the
 * length of its target), never followed. {@code mode} holds the permission bits ({@code 07777}).
 */
public record DirEntry(String name, Type type, int mode, long size, Instant modified) {

    public enum Type {
        FILE, DIRECTORY, SYMLINK, OTHER;

        /** The LIST entry kind on the wire (1 to 4). */
        static Type fromCode(int kind) {
            return switch (kind) {
                case 1 -> FILE;
                case 2 -> DIRECTORY;
                case 3 -> SYMLINK;
                default -> OTHER;
            };
        }
    }

    static DirEntry of(AgentMessage.Entry e) {
        return new DirEntry(e.name(), Type.fromCode(e.kind()), e.mode(), e.size(),
                Instant.ofEpochSecond(e.mtimeSeconds(), e.mtimeNanos()));
    }
}
