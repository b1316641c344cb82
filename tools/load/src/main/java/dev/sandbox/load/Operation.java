package dev.sandbox.load;

/** The scenario's steps, in order; each gets its own histogram. */
public enum Operation {
    CREATE, EXEC, WRITE_FILE, READ_FILE, PAUSE, RESUME, DESTROY;

    public String label() {
        return name().toLowerCase();
    }
}
