package dev.sandbox.engine.vmm.arch;

import dev.sandbox.engine.vmm.memory.GuestMemory;

import java.lang.foreign.MemorySegment;

/** Guest memory for boot tests: a heap array, large enough for the fixed layout and a small kernel. */
final class ArchTestSupport {
    static final long MEMORY_SIZE = 4L << 20;

    private ArchTestSupport() {
    }

    static GuestMemory memory() {
        return GuestMemory.wrap(MemorySegment.ofArray(new byte[(int) MEMORY_SIZE]));
    }
}
