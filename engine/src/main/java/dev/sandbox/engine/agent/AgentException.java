package dev.sandbox.engine.agent;

/**
 * The one exception of the agent component: what the agent refused (its ERROR frame, with errno) or what went wrong
 * on the host side of the channel (timeout, closed connection, protocol violation).
 */
public final class AgentException extends RuntimeException {

    /** Why a call failed. The first twelve mirror {@code enum agent_error} in {@code protocol.h}. */
    public enum Kind {
        NOT_FOUND(1),
        IS_DIRECTORY(2),
        PERMISSION_DENIED(3),
        TOO_LARGE(4),
        /** The agent refused the request's contents (bad path, NUL in a string, duplicate id, ...). */
        INVALID(5),
        /** An I/O error inside the guest, or on the host side of the channel. */
        IO(6),
        UNSUPPORTED(7),
        VERSION(8),
        BUSY(9),
        /** A directory call on something that is not a directory (protocol 2). */
        NOT_DIRECTORY(10),
        /** MKDIR where something other than a directory already is (protocol 2). */
        EXISTS(11),
        /** REMOVE of a non-empty directory without recursive (protocol 2). */
        NOT_EMPTY(12),
        /** The bytes on the channel broke the protocol. */
        PROTOCOL(0),
        /** The call did not finish in time (the agent was told to cancel it). */
        TIMEOUT(0),
        /** The connection is closed. */
        CLOSED(0),
        INTERRUPTED(0);

        private final int code;

        Kind(int code) {
            this.code = code;
        }

        /** The wire code of an agent-reported kind, 0 for host-side kinds. */
        public int code() {
            return code;
        }

        /** The kind for a wire code; unknown codes become {@link #IO}. */
        public static Kind fromCode(int code) {
            for (Kind k : values()) {
                if (k.code == code && code != 0) {
                    return k;
                }
            }
            return IO;
        }
    }

    private final Kind kind;
    private final int errno;

    public AgentException(Kind kind, String message) {
        this(kind, 0, message, null);
    }

    public AgentException(Kind kind, String message, Throwable cause) {
        this(kind, 0, message, cause);
    }

    public AgentException(Kind kind, int errno, String message, Throwable cause) {
        super(kind + ": " + message, cause);
        this.kind = kind;
        this.errno = errno;
    }

    public Kind kind() {
        return kind;
    }

    /** The guest errno the agent reported, or 0. */
    public int errno() {
        return errno;
    }
}
