package dev.sandbox.engine.vmm.arch;

import dev.sandbox.engine.vmm.memory.GuestMemory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The Intel MultiProcessor Specification 1.4 tables that tell a kernel without ACPI about its CPUs and interrupt
 * routing: a floating pointer structure followed by a configuration table with one processor entry per vCPU, an ISA
 * bus, the IOAPIC, one I/O interrupt entry per IRQ 0..23 (identity-routed to IOAPIC pins), and local interrupt entries
 * wiring LINT0 to ExtINT and LINT1 to NMI. Both structures carry a checksum that makes their bytes sum to zero.
 */
public final class MpTable {
    /** Limited by APIC ids (the IOAPIC takes cpuCount + 1) and the 1 KiB EBDA window the table lives in. */
    public static final int MAX_CPUS = 32;

    static final int FLOATING_POINTER_SIZE = 16;
    static final int HEADER_SIZE = 44;
    static final int PROCESSOR_ENTRY_SIZE = 20;
    static final int ENTRY_SIZE = 8;
    static final int IRQ_COUNT = Layout.IRQ_MAX + 1;

    static final int ENTRY_PROCESSOR = 0;
    static final int ENTRY_BUS = 1;
    static final int ENTRY_IOAPIC = 2;
    static final int ENTRY_IO_INTERRUPT = 3;
    static final int ENTRY_LOCAL_INTERRUPT = 4;

    static final int SPEC_REVISION = 4; // 1.4
    static final int APIC_VERSION = 0x14;
    static final int CPU_ENABLED = 1;
    static final int CPU_BOOT_PROCESSOR = 2;
    static final int CPU_SIGNATURE = 0x600; // family 6
    static final int CPU_FEATURES = 0x201;  // APIC and FPU present
    static final int INT_TYPE_INT = 0;
    static final int INT_TYPE_NMI = 1;
    static final int INT_TYPE_EXTINT = 3;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private MpTable() {
    }

    /** Total size in bytes of the tables for {@code cpuCount} vCPUs. */
    public static int size(int cpuCount) {
        return FLOATING_POINTER_SIZE + HEADER_SIZE + cpuCount * PROCESSOR_ENTRY_SIZE + (4 + IRQ_COUNT) * ENTRY_SIZE; // bus, IOAPIC, IRQs, 2 local
    }

    /** Number of entries in the configuration table (the header's entry count). */
    public static int entryCount(int cpuCount) {
        return cpuCount + 1 + 1 + IRQ_COUNT + 2;
    }

    /** Writes the tables at {@link Layout#MPTABLE_START}. */
    public static void write(GuestMemory memory, int cpuCount) {
        memory.write(Layout.MPTABLE_START, build(Layout.MPTABLE_START, cpuCount));
    }

    /** The table bytes for placement at guest address {@code base}. */
    public static byte[] build(long base, int cpuCount) {
        if (cpuCount < 1 || cpuCount > MAX_CPUS) {
            throw new IllegalArgumentException("MP table supports 1.." + MAX_CPUS + " vCPUs, not " + cpuCount);
        }
        byte[] bytes = new byte[size(cpuCount)];
        MemorySegment table = MemorySegment.ofArray(bytes);
        int ioapicId = cpuCount + 1;

        MemorySegment config = table.asSlice(FLOATING_POINTER_SIZE);
        int at = HEADER_SIZE;
        for (int cpu = 0; cpu < cpuCount; cpu++) {
            config.set(ValueLayout.JAVA_BYTE, at, (byte) ENTRY_PROCESSOR);
            config.set(ValueLayout.JAVA_BYTE, at + 1, (byte) cpu);
            config.set(ValueLayout.JAVA_BYTE, at + 2, (byte) APIC_VERSION);
            config.set(ValueLayout.JAVA_BYTE, at + 3, (byte) (CPU_ENABLED | (cpu == 0 ? CPU_BOOT_PROCESSOR : 0)));
            config.set(U32, at + 4, CPU_SIGNATURE);
            config.set(U32, at + 8, CPU_FEATURES);
            at += PROCESSOR_ENTRY_SIZE;
        }
        config.set(ValueLayout.JAVA_BYTE, at, (byte) ENTRY_BUS);
        config.asSlice(at + 2, 6).copyFrom(MemorySegment.ofArray("ISA   ".getBytes(StandardCharsets.US_ASCII)));
        at += ENTRY_SIZE;
        config.set(ValueLayout.JAVA_BYTE, at, (byte) ENTRY_IOAPIC);
        config.set(ValueLayout.JAVA_BYTE, at + 1, (byte) ioapicId);
        config.set(ValueLayout.JAVA_BYTE, at + 2, (byte) APIC_VERSION);
        config.set(ValueLayout.JAVA_BYTE, at + 3, (byte) 1); // usable
        config.set(U32, at + 4, (int) Layout.IOAPIC_START);
        at += ENTRY_SIZE;
        for (int irq = 0; irq < IRQ_COUNT; irq++) {
            interrupt(config, at, ENTRY_IO_INTERRUPT, INT_TYPE_INT, irq, ioapicId, irq);
            at += ENTRY_SIZE;
        }
        interrupt(config, at, ENTRY_LOCAL_INTERRUPT, INT_TYPE_EXTINT, 0, 0, 0);
        interrupt(config, at + ENTRY_SIZE, ENTRY_LOCAL_INTERRUPT, INT_TYPE_NMI, 0, 0xff, 1); // 0xff: every local APIC
        at += 2 * ENTRY_SIZE;

        config.asSlice(0, 4).copyFrom(MemorySegment.ofArray("PCMP".getBytes(StandardCharsets.US_ASCII)));
        config.set(U16, 4, (short) at);
        config.set(ValueLayout.JAVA_BYTE, 6, (byte) SPEC_REVISION);
        config.asSlice(8, 20).copyFrom(MemorySegment.ofArray("SANDBOX MICROVM     ".getBytes(StandardCharsets.US_ASCII)));
        config.set(U16, 34, (short) entryCount(cpuCount));
        config.set(U32, 36, (int) Layout.APIC_START);
        config.set(ValueLayout.JAVA_BYTE, 7, checksum(config.asSlice(0, at)));

        table.asSlice(0, 4).copyFrom(MemorySegment.ofArray("_MP_".getBytes(StandardCharsets.US_ASCII)));
        table.set(U32, 4, (int) (base + FLOATING_POINTER_SIZE));
        table.set(ValueLayout.JAVA_BYTE, 8, (byte) 1); // length in 16-byte units
        table.set(ValueLayout.JAVA_BYTE, 9, (byte) SPEC_REVISION);
        table.set(ValueLayout.JAVA_BYTE, 10, checksum(table.asSlice(0, FLOATING_POINTER_SIZE)));
        return bytes;
    }

    private static void interrupt(MemorySegment config, int at, int entryType, int interruptType, int sourceIrq,
                                  int destinationApic, int destinationPin) {
        config.set(ValueLayout.JAVA_BYTE, at, (byte) entryType);
        config.set(ValueLayout.JAVA_BYTE, at + 1, (byte) interruptType);
        // at + 2: polarity and trigger flags 0, "conforms to the bus"; at + 4: source bus 0 (ISA)
        config.set(ValueLayout.JAVA_BYTE, at + 5, (byte) sourceIrq);
        config.set(ValueLayout.JAVA_BYTE, at + 6, (byte) destinationApic);
        config.set(ValueLayout.JAVA_BYTE, at + 7, (byte) destinationPin);
    }

    /** The byte that makes {@code bytes} (with that byte still zero) sum to zero modulo 256. */
    private static byte checksum(MemorySegment bytes) {
        int sum = 0;
        for (long i = 0; i < bytes.byteSize(); i++) {
            sum += bytes.get(ValueLayout.JAVA_BYTE, i);
        }
        return (byte) -sum;
    }
}
