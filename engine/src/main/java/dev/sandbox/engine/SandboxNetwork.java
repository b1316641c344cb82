package dev.sandbox.engine;

/**
 * Where a sandbox sits on the network. Every sandbox of a template has the same {@code guestIp} (each in a
 * network namespace of its own); {@code hostIp} is unique per sandbox, kept through pause and resume, and a guest
 * port P is reachable from the engine's host at {@code hostIp:P}.
 *
 * @param guestIp the guest's address inside its namespace
 * @param hostIp  the sandbox's address as seen from the host
 * @param spec    the policy it was created with
 */
public record SandboxNetwork(String guestIp, String hostIp, NetworkSpec spec) {
}
