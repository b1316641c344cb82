/**
 * The KVM engine: {@link dev.sandbox.engine.vmm.KvmEngine} implements {@link dev.sandbox.engine.Engine}, builds each
 * sandbox's {@link dev.sandbox.engine.vmm.Microvm} with {@code builder}, starts its vCPUs ({@code vstate}) and waits
 * for the guest agent over virtio-vsock ({@link dev.sandbox.engine.vmm.AgentConnector}); a
 * {@link dev.sandbox.engine.vmm.KvmSandbox} then forwards exec and file calls to the agent.
 */
package dev.sandbox.engine.vmm;
