/**
 * Guest physical memory. Every access to a guest address, whether by boot code or by a device following a
 * guest-supplied descriptor, goes through {@link dev.sandbox.engine.vmm.memory.GuestMemory}, whose bounds checks turn a
 * hostile address into a {@link dev.sandbox.engine.vmm.memory.GuestMemoryException} instead of an access outside the
 * mapping. A restored VM's RAM is layered ({@link dev.sandbox.engine.vmm.memory.RestoredRam}): its base file and its
 * delta's large runs mapped copy-on-write, the delta's small runs copied in.
 */
package dev.sandbox.engine.vmm.memory;
