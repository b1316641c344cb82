package dev.sandbox.engine.agent;

import java.util.Optional;

/** The signals a background process may be sent (Linux numbers). */
public enum ProcessSignal {
    HUP(1), INT(2), KILL(9), TERM(15);

    private final int number;

    ProcessSignal(int number) {
        this.number = number;
    }

    public int number() {
        return number;
    }

    /** "TERM" to TERM; anything else (other names, lower case, "SIGTERM") is empty. */
    public static Optional<ProcessSignal> parse(String name) {
        for (ProcessSignal s : values()) {
            if (s.name().equals(name)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }
}
