package dev.sandbox.ffi.kvm;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.util.Arrays;

/** Offsets of named members, resolved once into constants so the safe tier never hand-writes an offset. */
final class Structs {
    private Structs() {}

    /** Offset of the member reached by the group names {@code path} (a number selects a sequence element). */
    static long offset(MemoryLayout root, String... path) {
        return root.byteOffset(Arrays.stream(path)
                .map(p -> p.chars().allMatch(Character::isDigit)
                        ? PathElement.sequenceElement(Long.parseLong(p))
                        : PathElement.groupElement(p))
                .toArray(PathElement[]::new));
    }

    static byte[] checkedCopy(byte[] bytes, MemoryLayout layout) {
        if (bytes.length != layout.byteSize()) {
            throw new IllegalArgumentException(layout.name().orElse("struct") + " needs " + layout.byteSize()
                    + " bytes, got " + bytes.length);
        }
        return bytes.clone();
    }
}
