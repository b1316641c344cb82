package dev.sandbox.engine.vmm.arch;

import dev.sandbox.engine.vmm.memory.GuestMemory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;

/**
 * The zero page ({@code struct boot_params}, 4 KiB) handed to the kernel in RSI, per Documentation/x86/boot.rst and
 * arch/x86/include/uapi/asm/bootparam.h. Built in a heap buffer, then copied into the guest with {@link #writeTo}.
 */
public final class BootParams {
    public static final int SIZE = 4096;

    // Offsets into struct boot_params; setup header fields start at 0x1f1.
    static final int EXT_RAMDISK_IMAGE = 0x0c0;
    static final int EXT_RAMDISK_SIZE = 0x0c4;
    static final int EXT_CMD_LINE_PTR = 0x0c8;
    static final int E820_ENTRIES = 0x1e8;
    static final int SETUP_HEADER = 0x1f1;
    static final int BOOT_FLAG = 0x1fe;
    static final int HEADER = 0x202;
    static final int VERSION = 0x206;
    static final int TYPE_OF_LOADER = 0x210;
    static final int LOADFLAGS = 0x211;
    static final int RAMDISK_IMAGE = 0x218;
    static final int RAMDISK_SIZE = 0x21c;
    static final int CMD_LINE_PTR = 0x228;
    static final int INITRD_ADDR_MAX = 0x22c;
    static final int KERNEL_ALIGNMENT = 0x230;
    static final int CMDLINE_SIZE = 0x238;
    static final int E820_TABLE = 0x2d0;
    static final int E820_ENTRY_SIZE = 20;
    static final int E820_MAX_ENTRIES = 128;

    static final int BOOT_FLAG_MAGIC = 0xaa55;
    static final int HEADER_MAGIC = 0x5372_6448; // "HdrS"
    /** Boot protocol version claimed when there is no bzImage header to copy (2.15, as Linux 6.1 reports). */
    static final int PROTOCOL_VERSION = 0x020f;
    /** "Undefined" boot loader id: we have no assigned one. */
    static final int LOADER_UNDEFINED = 0xff;
    static final int LOADED_HIGH = 0x01;
    static final long DEFAULT_INITRD_ADDR_MAX = 0x37ff_ffffL;
    static final int KERNEL_MIN_ALIGNMENT = 0x0100_0000;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment page = MemorySegment.ofArray(new byte[SIZE]);

    private BootParams() {
    }

    /** Boot params for a kernel: the bzImage's own setup header, or one built from scratch for an ELF vmlinux. */
    public static BootParams forKernel(LoadedKernel kernel) {
        return switch (kernel) {
            case LoadedKernel.Elf elf -> fromScratch();
            case LoadedKernel.BzImage bz -> fromSetupHeader(bz.setupHeader());
        };
    }

    /** A setup header with just what a 64-bit entry needs, as Firecracker builds for vmlinux. */
    public static BootParams fromScratch() {
        BootParams params = new BootParams();
        params.page.set(U16, BOOT_FLAG, (short) BOOT_FLAG_MAGIC);
        params.page.set(U32, HEADER, HEADER_MAGIC);
        params.page.set(U16, VERSION, (short) PROTOCOL_VERSION);
        params.page.set(U32, INITRD_ADDR_MAX, (int) DEFAULT_INITRD_ADDR_MAX);
        params.page.set(U32, KERNEL_ALIGNMENT, KERNEL_MIN_ALIGNMENT);
        params.markLoader();
        return params;
    }

    /** Starts from a bzImage's setup header (bytes from offset 0x1f1), as the boot protocol asks loaders to. */
    public static BootParams fromSetupHeader(MemorySegment setupHeader) {
        if (setupHeader.byteSize() > SIZE - SETUP_HEADER) {
            throw new IllegalArgumentException("setup header of " + setupHeader.byteSize() + " bytes is too long");
        }
        BootParams params = new BootParams();
        params.page.asSlice(SETUP_HEADER, setupHeader.byteSize()).copyFrom(setupHeader);
        params.markLoader();
        return params;
    }

    public BootParams commandLine(long address, int length) {
        page.set(U32, CMD_LINE_PTR, (int) address);
        page.set(U32, EXT_CMD_LINE_PTR, (int) (address >>> 32));
        page.set(U32, CMDLINE_SIZE, length);
        return this;
    }

    public BootParams ramdisk(long address, long size) {
        page.set(U32, RAMDISK_IMAGE, (int) address);
        page.set(U32, EXT_RAMDISK_IMAGE, (int) (address >>> 32));
        page.set(U32, RAMDISK_SIZE, (int) size);
        page.set(U32, EXT_RAMDISK_SIZE, (int) (size >>> 32));
        return this;
    }

    public BootParams e820(List<E820Entry> entries) {
        if (entries.size() > E820_MAX_ENTRIES) {
            throw new IllegalArgumentException("at most " + E820_MAX_ENTRIES + " e820 entries fit the zero page");
        }
        page.set(ValueLayout.JAVA_BYTE, E820_ENTRIES, (byte) entries.size());
        for (int i = 0; i < entries.size(); i++) {
            long at = E820_TABLE + (long) i * E820_ENTRY_SIZE;
            E820Entry entry = entries.get(i);
            page.set(U64, at, entry.address());
            page.set(U64, at + 8, entry.size());
            page.set(U32, at + 16, entry.type().code());
        }
        return this;
    }

    /** Highest address the kernel accepts for the initrd's last byte (setup header initrd_addr_max). */
    public long initrdAddressMax() {
        long max = Integer.toUnsignedLong(page.get(U32, INITRD_ADDR_MAX));
        return max == 0 ? DEFAULT_INITRD_ADDR_MAX : max;
    }

    /** A read-only view of the page, for tests and snapshots. */
    public MemorySegment bytes() {
        return page.asReadOnly();
    }

    public void writeTo(GuestMemory memory, long address) {
        memory.write(address, page);
    }

    private void markLoader() {
        page.set(ValueLayout.JAVA_BYTE, TYPE_OF_LOADER, (byte) LOADER_UNDEFINED);
        byte flags = page.get(ValueLayout.JAVA_BYTE, LOADFLAGS);
        page.set(ValueLayout.JAVA_BYTE, LOADFLAGS, (byte) (flags | LOADED_HIGH));
    }
}
