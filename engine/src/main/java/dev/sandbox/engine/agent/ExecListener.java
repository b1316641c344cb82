package dev.sandbox.engine.agent;

/**
 * Receives an exec's output as it streams. Called on the client's reader thread, in order, one chunk at a time:
 * keep it quick, and never call the {@link AgentClient} from it (the reply could only arrive on this thread).
 */
public interface ExecListener {

    void stdout(byte[] chunk);

    void stderr(byte[] chunk);

    /** Drops all output. */
    ExecListener DISCARD = new ExecListener() {
        @Override
        public void stdout(byte[] chunk) {}

        @Override
        public void stderr(byte[] chunk) {}
    };
}
