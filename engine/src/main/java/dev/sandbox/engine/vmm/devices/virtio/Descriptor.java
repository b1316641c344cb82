package dev.sandbox.engine.vmm.devices.virtio;

/** One validated buffer of a descriptor chain: guest address, length, and whether the device may write it. */
public record Descriptor(long address, long length, boolean writable) {
}
