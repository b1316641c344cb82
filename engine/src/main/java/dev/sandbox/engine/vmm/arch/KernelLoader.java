package dev.sandbox.engine.vmm.arch;

import dev.sandbox.engine.vmm.memory.GuestMemory;
import dev.sandbox.engine.vmm.memory.GuestMemoryException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.OptionalLong;

/**
 * Copies a Linux kernel image into guest memory: an ELF64 {@code vmlinux} (Firecracker's way: no decompression) or a
 * {@code bzImage} (Documentation/x86/boot.rst, 64-bit boot protocol). The image is untrusted input: every offset and
 * size is checked against the image and against guest memory before use.
 */
public final class KernelLoader {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final int ELF_HEADER_SIZE = 64;
    private static final int PHDR_SIZE = 56;
    private static final int PT_LOAD = 1;
    private static final int PT_NOTE = 4;
    private static final int EM_X86_64 = 62;
    private static final int XEN_ELFNOTE_PHYS32_ENTRY = 18;

    private static final int SETUP_HEADER_START = 0x1f1;
    private static final long BZ_HEADER_MAGIC = 0x5372_6448L; // "HdrS"
    private static final int MIN_64BIT_PROTOCOL = 0x020c; // xloadflags appeared in 2.12
    private static final int XLF_KERNEL_64 = 1;

    private KernelLoader() {
    }

    /** Loads an ELF or a bzImage, chosen by its magic. */
    public static LoadedKernel load(GuestMemory memory, MemorySegment image) throws KernelImageException {
        if (image.byteSize() >= 4 && image.get(U32, 0) == 0x464c_457f) { // "\177ELF"
            return loadElf(memory, image);
        }
        return loadBzImage(memory, image);
    }

    public static LoadedKernel.Elf loadElf(GuestMemory memory, MemorySegment image) throws KernelImageException {
        require(image.byteSize() >= ELF_HEADER_SIZE, "image shorter than an ELF header");
        require(image.get(U32, 0) == 0x464c_457f, "no ELF magic");
        require(image.get(ValueLayout.JAVA_BYTE, 4) == 2, "not a 64-bit ELF");
        require(image.get(ValueLayout.JAVA_BYTE, 5) == 1, "not a little-endian ELF");
        require(image.get(U16, 18) == EM_X86_64, "not an x86-64 ELF");
        long entry = image.get(U64, 24);
        long phoff = image.get(U64, 32);
        int phentsize = Short.toUnsignedInt(image.get(U16, 54));
        int phnum = Short.toUnsignedInt(image.get(U16, 56));
        require(phentsize == PHDR_SIZE, "unexpected program header size " + phentsize);
        requireInImage(image, phoff, (long) phnum * PHDR_SIZE, "program headers");

        long end = 0;
        boolean loadedEntry = false;
        OptionalLong pvhEntry = OptionalLong.empty();
        for (int i = 0; i < phnum; i++) {
            long ph = phoff + (long) i * PHDR_SIZE;
            int type = image.get(U32, ph);
            long offset = image.get(U64, ph + 8);
            long paddr = image.get(U64, ph + 24);
            long fileSize = image.get(U64, ph + 32);
            long memSize = image.get(U64, ph + 40);
            if (type == PT_NOTE) {
                requireInImage(image, offset, fileSize, "note segment");
                OptionalLong found = pvhEntry(image.asSlice(offset, fileSize));
                pvhEntry = found.isPresent() ? found : pvhEntry;
            } else if (type == PT_LOAD) {
                requireInImage(image, offset, fileSize, "segment " + i);
                require(Long.compareUnsigned(fileSize, memSize) <= 0, "segment " + i + " file size exceeds memory size");
                require(paddr >= Layout.HIMEM_START, "segment %d at 0x%x is below 1 MiB".formatted(i, paddr));
                requireInGuest(memory, paddr, memSize, "segment " + i);
                memory.write(paddr, image.asSlice(offset, fileSize));
                memory.fill(paddr + fileSize, memSize - fileSize, (byte) 0);
                end = Math.max(end, paddr + memSize);
                loadedEntry |= entry >= paddr && entry - paddr < memSize;
            }
        }
        require(end > 0, "no loadable segment");
        require(loadedEntry, "entry point 0x%x is not inside a loaded segment".formatted(entry));
        return new LoadedKernel.Elf(entry, end, pvhEntry);
    }

    public static LoadedKernel.BzImage loadBzImage(GuestMemory memory, MemorySegment image)
            throws KernelImageException {
        require(image.byteSize() > 0x202 + 0xff, "image too short for a bzImage setup header");
        require(Integer.toUnsignedLong(image.get(U32, 0x202)) == BZ_HEADER_MAGIC, "no bzImage 'HdrS' magic");
        int version = Short.toUnsignedInt(image.get(U16, 0x206));
        require(version >= MIN_64BIT_PROTOCOL, "boot protocol 0x%x predates the 64-bit entry".formatted(version));
        int xloadflags = Short.toUnsignedInt(image.get(U16, 0x236));
        require((xloadflags & XLF_KERNEL_64) != 0, "kernel has no 64-bit entry point (XLF_KERNEL_64)");

        int setupSects = Byte.toUnsignedInt(image.get(ValueLayout.JAVA_BYTE, SETUP_HEADER_START));
        long setupSize = (long) (setupSects == 0 ? 4 : setupSects) * 512 + 512; // plus the boot sector
        require(setupSize < image.byteSize(), "setup_sects points past the end of the image");
        // boot.rst: the header ends at 0x202 plus the byte at 0x201 (the jump instruction's offset).
        int headerEnd = 0x202 + Byte.toUnsignedInt(image.get(ValueLayout.JAVA_BYTE, 0x201));
        MemorySegment header = MemorySegment.ofArray(new byte[headerEnd - SETUP_HEADER_START]);
        header.copyFrom(image.asSlice(SETUP_HEADER_START, header.byteSize()));

        long kernelSize = image.byteSize() - setupSize;
        long initSize = Integer.toUnsignedLong(image.get(U32, 0x260));
        long footprint = Math.max(kernelSize, initSize);
        requireInGuest(memory, Layout.KERNEL_START, footprint, "kernel with its init_size");
        memory.write(Layout.KERNEL_START, image.asSlice(setupSize, kernelSize));
        // The 64-bit entry sits 0x200 bytes into the protected-mode kernel.
        return new LoadedKernel.BzImage(Layout.KERNEL_START + 0x200, Layout.KERNEL_START + footprint,
                header.asReadOnly());
    }

    /** Scans ELF notes for Xen's PVH entry; notes are (namesz, descsz, type, name, desc), each padded to 4 bytes. */
    private static OptionalLong pvhEntry(MemorySegment notes) {
        long at = 0;
        while (notes.byteSize() - at >= 12) {
            long nameSize = Integer.toUnsignedLong(notes.get(U32, at));
            long descSize = Integer.toUnsignedLong(notes.get(U32, at + 4));
            int type = notes.get(U32, at + 8);
            long name = at + 12;
            long desc = name + align4(nameSize);
            long next = desc + align4(descSize);
            if (next > notes.byteSize()) {
                break;
            }
            if (type == XEN_ELFNOTE_PHYS32_ENTRY && nameSize == 4 && notes.get(U32, name) == 0x006e_6558 // "Xen\0"
                    && (descSize == 4 || descSize == 8)) {
                return OptionalLong.of(descSize == 4 ? Integer.toUnsignedLong(notes.get(U32, desc)) : notes.get(U64, desc));
            }
            at = next;
        }
        return OptionalLong.empty();
    }

    private static long align4(long value) {
        return (value + 3) & ~3L;
    }

    private static void requireInImage(MemorySegment image, long offset, long length, String what)
            throws KernelImageException {
        require(offset >= 0 && length >= 0 && offset <= image.byteSize() && length <= image.byteSize() - offset,
                what + " lies outside the image");
    }

    private static void requireInGuest(GuestMemory memory, long address, long length, String what)
            throws KernelImageException {
        try {
            memory.check(address, length);
        } catch (GuestMemoryException e) {
            throw new KernelImageException(what + " does not fit in guest memory: " + e.getMessage());
        }
    }

    private static void require(boolean condition, String message) throws KernelImageException {
        if (!condition) {
            throw new KernelImageException(message);
        }
    }
}
