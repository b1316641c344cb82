package dev.sandbox.engine.vmm.arch;

import dev.sandbox.engine.vmm.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KernelLoaderTest {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final GuestMemory memory = ArchTestSupport.memory();

    /** An ELF64 with one PT_LOAD (4 code bytes, 16 bytes in memory) at 0x200000 and a Xen PVH note. */
    static MemorySegment elf(long paddr, long entry) {
        MemorySegment image = MemorySegment.ofArray(new byte[0x200]);
        image.set(U32, 0, 0x464c_457f);
        image.set(ValueLayout.JAVA_BYTE, 4, (byte) 2);
        image.set(ValueLayout.JAVA_BYTE, 5, (byte) 1);
        image.set(U16, 16, (short) 2);
        image.set(U16, 18, (short) 62);
        image.set(U64, 24, entry);
        image.set(U64, 32, 64);
        image.set(U16, 54, (short) 56);
        image.set(U16, 56, (short) 2);
        long ph = 64;
        image.set(U32, ph, 1);
        image.set(U64, ph + 8, 0x100);
        image.set(U64, ph + 16, 0xffff_ffff_8100_0000L);
        image.set(U64, ph + 24, paddr);
        image.set(U64, ph + 32, 4);
        image.set(U64, ph + 40, 16);
        image.set(U32, 0x100, 0xdead_beef);
        ph += 56;
        image.set(U32, ph, 4);
        image.set(U64, ph + 8, 0x180);
        image.set(U64, ph + 32, 20);
        image.set(U32, 0x180, 4);           // namesz
        image.set(U32, 0x184, 4);           // descsz
        image.set(U32, 0x188, 18);          // XEN_ELFNOTE_PHYS32_ENTRY
        image.set(U32, 0x18c, 0x006e_6558); // "Xen\0"
        image.set(U32, 0x190, 0x20_0040);
        return image;
    }

    @Test
    void loadsElfSegmentsAtTheirPhysicalAddresses() throws Exception {
        memory.writeU64(0x20_0008, -1L); // stale bytes in the bss must be cleared
        LoadedKernel kernel = KernelLoader.load(memory, elf(0x20_0000, 0x20_0000));
        LoadedKernel.Elf elf = assertInstanceOf(LoadedKernel.Elf.class, kernel);
        assertEquals(0x20_0000, elf.entry());
        assertEquals(0x20_0010, elf.end());
        assertEquals(0x20_0040, elf.pvhEntry().orElseThrow());
        assertEquals(0xdead_beefL, memory.readU32(0x20_0000));
        assertEquals(0L, memory.readU64(0x20_0008));
    }

    @Test
    void rejectsHostileElfImages() {
        assertThrows(KernelImageException.class, () -> KernelLoader.load(memory, elf(0x1000, 0x1000)));      // < 1 MiB
        assertThrows(KernelImageException.class, () -> KernelLoader.load(memory, elf(0x3f_fff8, 0x3f_fff8))); // past end
        assertThrows(KernelImageException.class, () -> KernelLoader.load(memory, elf(0x20_0000, 0x30_0000))); // entry
        MemorySegment outsideImage = elf(0x20_0000, 0x20_0000);
        outsideImage.set(U64, 64 + 8, Long.MAX_VALUE - 1);
        assertThrows(KernelImageException.class, () -> KernelLoader.load(memory, outsideImage));
        MemorySegment manyHeaders = elf(0x20_0000, 0x20_0000);
        manyHeaders.set(U16, 56, (short) 0xffff);
        assertThrows(KernelImageException.class, () -> KernelLoader.load(memory, manyHeaders));
        MemorySegment fileBiggerThanMemory = elf(0x20_0000, 0x20_0000);
        fileBiggerThanMemory.set(U64, 64 + 40, 2);
        assertThrows(KernelImageException.class, () -> KernelLoader.load(memory, fileBiggerThanMemory));
    }

    @Test
    void loadsTheProtectedModePartOfABzImage() throws Exception {
        int setupSects = 2;
        MemorySegment image = MemorySegment.ofArray(new byte[(setupSects + 1) * 512 + 0x400]);
        image.set(ValueLayout.JAVA_BYTE, 0x1f1, (byte) setupSects);
        image.set(ValueLayout.JAVA_BYTE, 0x201, (byte) 0x66); // header ends at 0x268
        image.set(U32, 0x202, 0x5372_6448);
        image.set(U16, 0x206, (short) 0x020f);
        image.set(U16, 0x236, (short) 1); // XLF_KERNEL_64
        image.set(U32, 0x260, 0x8000);     // init_size
        image.set(U32, (setupSects + 1) * 512, 0xcafe_f00d);
        LoadedKernel.BzImage kernel = assertInstanceOf(LoadedKernel.BzImage.class, KernelLoader.load(memory, image));
        assertEquals(Layout.KERNEL_START + 0x200, kernel.entry());
        assertEquals(Layout.KERNEL_START + 0x8000, kernel.end());
        assertEquals(0x268 - 0x1f1, kernel.setupHeader().byteSize());
        assertEquals(0xcafe_f00dL, memory.readU32(Layout.KERNEL_START));
        assertArrayEquals(image.asSlice(0x1f1, 0x268 - 0x1f1).toArray(ValueLayout.JAVA_BYTE),
                kernel.setupHeader().toArray(ValueLayout.JAVA_BYTE));

        image.set(U16, 0x236, (short) 0);
        KernelImageException no64 = assertThrows(KernelImageException.class, () -> KernelLoader.load(memory, image));
        assertTrue(no64.getMessage().contains("64-bit"));
        assertThrows(KernelImageException.class,
                () -> KernelLoader.load(memory, MemorySegment.ofArray(new byte[0x1000])));
    }
}
