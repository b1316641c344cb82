/**
 * Host side of the guest agent protocol: the engine talks to {@code sandbox-agent} (PID 1 of every microVM,
 * {@code guest-agent-c/}) over one byte stream, vsock in a VM or a Unix socket in tests.
 *
 * <p>The wire format is defined once for C in {@code guest-agent-c/include/protocol.h} and once for Java in
 * {@link dev.sandbox.engine.agent.AgentCodec}; both are tested against the byte fixtures in
 * {@code guest-agent-c/fixtures/}. Frames are length-prefixed ({@code u32 len, u8 type, 3 zero bytes, u32 id},
 * big-endian, payload at most {@link dev.sandbox.engine.agent.AgentCodec#MAX_PAYLOAD}), start with a version
 * handshake, and carry a request id so that many requests multiplex on one connection. The message set is the
 * sealed {@link dev.sandbox.engine.agent.AgentMessage} with one record per frame type.
 *
 * <p>{@link dev.sandbox.engine.agent.AgentClient} is the API: exec with streaming callbacks
 * ({@link dev.sandbox.engine.agent.ExecListener}, {@link dev.sandbox.engine.agent.ExecExit}) or collected
 * ({@link dev.sandbox.engine.agent.ExecResult}), file write from an {@code InputStream} and read to an
 * {@code OutputStream}, directory list/mkdir/remove ({@link dev.sandbox.engine.agent.DirListing}, protocol version 2;
 * a version 1 agent gets UNSUPPORTED), background processes
 * ({@link dev.sandbox.engine.agent.ProcessInfo}, {@link dev.sandbox.engine.agent.ProcessOutput},
 * {@link dev.sandbox.engine.agent.ProcessSignal}, protocol version 3: they belong to the agent, not to a connection),
 * ping, clock sync, entropy, a clone's identity (hostname, clock and entropy in one call the agent serves without a
 * fork, protocol version 4) and quiesce; every call has a timeout, and every failure is an
 * {@link dev.sandbox.engine.agent.AgentException} with a {@link dev.sandbox.engine.agent.AgentException.Kind}.
 */
package dev.sandbox.engine.agent;
