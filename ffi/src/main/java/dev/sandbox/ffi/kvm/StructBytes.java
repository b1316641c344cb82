package dev.sandbox.ffi.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A struct's bytes exactly as KVM lays them out, for saving state records. The layouts' fields are aligned
 * (JAVA_LONG etc.), which a byte[] heap segment cannot satisfy, so each conversion goes through zeroed native
 * scratch memory; zeroing keeps the padding bytes deterministic.
 */
final class StructBytes {
    private StructBytes() {}

    static byte[] encode(MemoryLayout layout, Consumer<MemorySegment> write) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(layout);
            write.accept(m);
            return m.toArray(KvmAbi.U8);
        }
    }

    static <T> T decode(byte[] bytes, MemoryLayout layout, Function<MemorySegment, T> read) {
        byte[] checked = Structs.checkedCopy(bytes, layout);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(layout);
            MemorySegment.copy(checked, 0, m, KvmAbi.U8, 0, checked.length);
            return read.apply(m);
        }
    }
}
