package dev.sandbox.engine.vmm.arch;

import dev.sandbox.engine.vmm.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;

class BootParamsTest {
    @Test
    void fromScratchWritesTheDocumentedFields() {
        GuestMemory memory = ArchTestSupport.memory();
        BootParams.forKernel(new LoadedKernel.Elf(0x100_0000, 0x200_0000, OptionalLong.empty()))
                .commandLine(Layout.CMDLINE_START, 42)
                .ramdisk(0x30_0000, 0x1234)
                .e820(E820.forMemory(ArchTestSupport.MEMORY_SIZE))
                .writeTo(memory, Layout.ZERO_PAGE_START);
        long zp = Layout.ZERO_PAGE_START;
        assertEquals(0xaa55, memory.readU16(zp + 0x1fe));
        assertEquals(0x5372_6448L, memory.readU32(zp + 0x202)); // "HdrS"
        assertEquals(0x020f, memory.readU16(zp + 0x206));
        assertEquals(0xff, memory.readU8(zp + 0x210));
        assertEquals(0x01, memory.readU8(zp + 0x211) & 0x01);
        assertEquals(0x30_0000L, memory.readU32(zp + 0x218));
        assertEquals(0x1234L, memory.readU32(zp + 0x21c));
        assertEquals(Layout.CMDLINE_START, memory.readU32(zp + 0x228));
        assertEquals(42L, memory.readU32(zp + 0x238));
        assertEquals(0L, memory.readU32(zp + 0x0c8)); // ext_cmd_line_ptr
        assertEquals(3, memory.readU8(zp + 0x1e8));
        long e820 = zp + 0x2d0;
        assertEquals(0L, memory.readU64(e820));
        assertEquals(0x9fc00L, memory.readU64(e820 + 8));
        assertEquals(1L, memory.readU32(e820 + 16));
        assertEquals(0x9fc00L, memory.readU64(e820 + 20));
        assertEquals(2L, memory.readU32(e820 + 36));
        assertEquals(0x10_0000L, memory.readU64(e820 + 40));
        assertEquals(ArchTestSupport.MEMORY_SIZE - 0x10_0000L, memory.readU64(e820 + 48));
        assertEquals(1L, memory.readU32(e820 + 56));
    }

    @Test
    void keepsABzImageSetupHeaderAndMarksTheLoader() {
        MemorySegment header = MemorySegment.ofArray(new byte[0x268 - 0x1f1]);
        header.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 27);               // setup_sects
        header.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 0x22c - 0x1f1, 0x7fff_ffff); // initrd_addr_max
        header.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0x211 - 0x1f1, (byte) 0x20); // loadflags: quiet
        BootParams params = BootParams.fromSetupHeader(header).commandLine(Layout.CMDLINE_START, 10);
        MemorySegment page = params.bytes();
        assertEquals(27, page.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0x1f1));
        assertEquals((byte) 0xff, page.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0x210));
        assertEquals(0x21, page.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0x211));
        assertEquals(0x7fff_ffffL, params.initrdAddressMax());
        assertEquals(0x37ff_ffffL, BootParams.fromScratch().initrdAddressMax());
    }
}
