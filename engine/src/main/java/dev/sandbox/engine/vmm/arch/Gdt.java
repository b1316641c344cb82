package dev.sandbox.engine.vmm.arch;

import dev.sandbox.engine.vmm.memory.GuestMemory;

import java.util.List;

/**
 * The boot GDT (null, 64-bit code, data, TSS) and the conversion of its descriptors into {@link Segment} values for
 * the vCPU's segment registers. Descriptor layout: Intel SDM vol. 3, 3.4.5.
 */
public final class Gdt {
    static final int CODE_INDEX = 1;
    static final int DATA_INDEX = 2;
    static final int TSS_INDEX = 3;

    /** Flags: P, DPL 0, S, type; then G, D/B, L in the high nibble (access byte low, flags nibble at bit 12). */
    static final int CODE64_FLAGS = 0xa09b; // G, L, present, code execute/read, accessed
    static final int DATA_FLAGS = 0xc093;   // G, D/B, present, data read/write, accessed
    static final int TSS_FLAGS = 0x808b;    // G, present, 64-bit busy TSS (VMX requires a usable TR)

    /** The boot descriptors, in table order. */
    public static final List<Long> BOOT_ENTRIES = List.of(
            0L,
            descriptor(CODE64_FLAGS, 0, 0xfffff),
            descriptor(DATA_FLAGS, 0, 0xfffff),
            descriptor(TSS_FLAGS, 0, 0xfffff));

    public static final Segment CODE = segment(BOOT_ENTRIES.get(CODE_INDEX), CODE_INDEX);
    public static final Segment DATA = segment(BOOT_ENTRIES.get(DATA_INDEX), DATA_INDEX);
    public static final Segment TSS = segment(BOOT_ENTRIES.get(TSS_INDEX), TSS_INDEX);

    /** GDTR limit: size in bytes minus one. */
    public static final int LIMIT = BOOT_ENTRIES.size() * 8 - 1;

    private Gdt() {
    }

    /** Packs a descriptor from its flags, base and 20-bit limit. */
    public static long descriptor(int flags, long base, long limit) {
        return ((base & 0xff00_0000L) << (56 - 24))
                | ((flags & 0xf0ffL) << 40)
                | ((limit & 0x000f_0000L) << (48 - 16))
                | ((base & 0x00ff_ffffL) << 16)
                | (limit & 0xffffL);
    }

    /** Unpacks a descriptor at {@code index} into the segment register value that loads it. */
    public static Segment segment(long descriptor, int index) {
        long base = ((descriptor >>> 32) & 0xff00_0000L) | ((descriptor >>> 16) & 0x00ff_ffffL);
        int rawLimit = (int) (((descriptor >>> 32) & 0x000f_0000L) | (descriptor & 0xffffL));
        boolean g = bit(descriptor, 55);
        int limit = g ? (rawLimit << 12) | 0xfff : rawLimit;
        return new Segment(base, limit, index * 8, (int) ((descriptor >>> 40) & 0xf), bit(descriptor, 47),
                (int) ((descriptor >>> 45) & 0x3), bit(descriptor, 54), bit(descriptor, 44), bit(descriptor, 53), g,
                bit(descriptor, 52));
    }

    /** Writes the boot GDT and an empty one-entry IDT at their {@link Layout} addresses. */
    public static void write(GuestMemory memory) {
        for (int i = 0; i < BOOT_ENTRIES.size(); i++) {
            memory.writeU64(Layout.GDT_START + i * 8L, BOOT_ENTRIES.get(i));
        }
        memory.writeU64(Layout.IDT_START, 0);
    }

    private static boolean bit(long value, int bit) {
        return ((value >>> bit) & 1) != 0;
    }
}
