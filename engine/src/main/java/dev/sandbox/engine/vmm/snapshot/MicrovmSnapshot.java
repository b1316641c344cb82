package dev.sandbox.engine.vmm.snapshot;

import dev.sandbox.engine.vmm.devices.legacy.Serial8250;
import dev.sandbox.engine.vmm.devices.virtio.MmioTransport;
import dev.sandbox.engine.vmm.vstate.VcpuSnapshot;
import dev.sandbox.engine.vmm.vstate.VmSnapshot;

import dev.sandbox.engine.agent.AgentClient;
import dev.sandbox.engine.vmm.devices.virtio.blk.DiskState;
import dev.sandbox.engine.vmm.devices.virtio.vsock.VsockState;

import java.util.List;

/**
 * A paused microVM's state apart from guest RAM (which is in the files {@code memory} names): KVM's VM and vCPU state, the serial
 * port, each virtio transport in slot order (vsock, rng, then net; snapshots made before virtio-net have no third),
 * and the console's tail for diagnostics. The i8042 keeps nothing a
 * running Linux needs (it only ever writes the reset command). A disk template's VM has a fourth transport
 * (virtio-blk) and its {@code disk}: the overlay chain, synced and checksummed at the pause (null without a disk).
 * {@code vsock} keeps the device's open connections and {@code agent} the agent client's session over one of them,
 * so a restore takes the agent's connection up again; without them (null: a snapshot from before, or a pause that
 * could not leave the stream at a frame boundary) the device sends the driver a transport reset, as the virtio spec
 * asks, and the host connects anew.
 */
public record MicrovmSnapshot(long memoryBytes, MemoryImage memory, VmSnapshot vm, List<VcpuSnapshot> vcpus,
                              Serial8250.State serial, List<MmioTransport.State> transports, String consoleTail,
                              DiskState disk, VsockState vsock, AgentClient.Session agent) {
    public MicrovmSnapshot {
        vcpus = List.copyOf(vcpus);
        transports = List.copyOf(transports);
    }

    public MicrovmSnapshot withMemory(MemoryImage image) {
        return new MicrovmSnapshot(memoryBytes, image, vm, vcpus, serial, transports, consoleTail, disk, vsock, agent);
    }

    public MicrovmSnapshot withDisk(DiskState state) {
        return new MicrovmSnapshot(memoryBytes, memory, vm, vcpus, serial, transports, consoleTail, state, vsock, agent);
    }

    /** With the agent's session over a kept vsock connection (null: none kept). */
    public MicrovmSnapshot withAgent(AgentClient.Session session) {
        return new MicrovmSnapshot(memoryBytes, memory, vm, vcpus, serial, transports, consoleTail, disk, vsock,
                session);
    }
}
