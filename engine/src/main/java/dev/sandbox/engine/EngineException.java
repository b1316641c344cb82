package dev.sandbox.engine;

/** The engine's one exception type; {@link #kind()} says what went wrong, so callers map it without parsing. */
public class EngineException extends RuntimeException {

    public enum Kind {
        /** The spec is out of bounds or names an unknown template: the caller's fault. */
        INVALID_SPEC,
        /** The operation does not fit the sandbox's state (exec on a stopped sandbox, resume when not paused). */
        INVALID_STATE,
        /** The engine is misconfigured or the host lacks something (no usable /dev/kvm, no guest image). */
        CONFIG,
        /** The guest did not boot, or its agent did not answer in time; the message carries the console tail. */
        BOOT_FAILED,
        /** The VMM failed while the sandbox ran (a KVM error, a device failure, the guest shut down). */
        VM_FAILED,
    }

    private final Kind kind;

    public EngineException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public EngineException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
