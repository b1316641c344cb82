package dev.sandbox.engine.net;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs the host's network tools ({@code ip}, {@code nft}) as processes. An interface so tests can wrap the real
 * runner to fail a chosen step.
 */
@FunctionalInterface
interface Commands {
    /**
     * Runs {@code argv} with {@code stdin} (null: none) and returns its stdout.
     *
     * @throws NetworkException when it cannot start, exits non-zero (stderr in the message) or outlives the timeout
     */
    String run(List<String> argv, String stdin);

    /** The real runner: child processes, each killed when it outlives {@code timeout}. */
    static Commands processes(Duration timeout) {
        return new ProcessCommands(timeout);
    }

    default String run(String... argv) {
        return run(List.of(argv), null);
    }

    /** Loads an nftables script atomically: all of it or nothing. */
    default void nft(String script) {
        run(List.of("nft", "-f", "-"), script);
    }

    /** {@code argv} inside the named namespace ({@code ip netns exec}). */
    default String inNetns(String netns, List<String> argv, String stdin) {
        List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", netns));
        command.addAll(argv);
        return run(command, stdin);
    }
}
