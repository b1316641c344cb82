package dev.sandbox.engine.vmm.snapshot;

import dev.sandbox.engine.vmm.devices.legacy.Serial8250;
import dev.sandbox.engine.vmm.devices.virtio.MmioTransport;
import dev.sandbox.engine.vmm.vstate.VcpuSnapshot;
import dev.sandbox.engine.vmm.vstate.VmSnapshot;

import java.util.List;

/**
 * A paused microVM's state apart from guest RAM (which is in the files {@code memory} names): KVM's VM and vCPU state, the serial
 * port, each virtio transport in slot order (vsock, rng, then net; snapshots made before virtio-net have no third),
 * and the console's tail for diagnostics. The i8042 keeps nothing a
 * running Linux needs (it only ever writes the reset command); vsock connections are not kept: on restore the
 * device sends the driver a transport reset, as the virtio spec asks.
 */
public record MicrovmSnapshot(long memoryBytes, MemoryImage memory, VmSnapshot vm, List<VcpuSnapshot> vcpus,
                              Serial8250.State serial, List<MmioTransport.State> transports, String consoleTail) {
    public MicrovmSnapshot {
        vcpus = List.copyOf(vcpus);
        transports = List.copyOf(transports);
    }

    public MicrovmSnapshot withMemory(MemoryImage image) {
        return new MicrovmSnapshot(memoryBytes, image, vm, vcpus, serial, transports, consoleTail);
    }
}
