package dev.sandbox.engine.vmm.vstate;

import dev.sandbox.engine.vmm.arch.Layout;
import dev.sandbox.engine.vmm.memory.GuestMemory;
import dev.sandbox.ffi.Mapping;
import dev.sandbox.ffi.MemFd;
import dev.sandbox.ffi.PageMap;
import dev.sandbox.ffi.kvm.Kvm;
import dev.sandbox.ffi.kvm.KvmConstants;
import dev.sandbox.ffi.kvm.VmFd;

import java.nio.file.Path;
import java.util.BitSet;
import java.util.function.Supplier;

/**
 * One KVM VM: its fd, guest RAM (a memfd mapped {@code MAP_SHARED} at guest physical 0, so a snapshot can later write
 * the file), the in-kernel PIC/IOAPIC/LAPICs and the PIT. Closing releases all of it; vCPUs must be closed first.
 */
public final class Vm implements AutoCloseable {
    /** Three pages for Intel's real-mode TSS, where Firecracker puts them: below the BIOS area, above the MMIO gap. */
    static final long TSS_ADDRESS = 0xfffb_d000L;
    /** One page for Intel's EPT identity map, just below the TSS. */
    static final long IDENTITY_MAP_ADDRESS = 0xfffb_c000L;
    static final int MEMORY_SLOT = 0;

    private final VmFd fd;
    private final MemFd memoryFile;
    private final Mapping mapping;
    private final GuestMemory memory;

    /** {@code memoryFile} is null when RAM is a private mapping of a snapshot's memory file. */
    private Vm(VmFd fd, MemFd memoryFile, Mapping mapping) {
        this.fd = fd;
        this.memoryFile = memoryFile;
        this.mapping = mapping;
        this.memory = GuestMemory.wrap(mapping.segment());
    }

    /** A VM with {@code memorySize} bytes of RAM and its interrupt controllers; nothing leaks if a step fails. */
    public static Vm create(Kvm kvm, String name, long memorySize) {
        checkSize(memorySize);
        MemFd file = MemFd.create("sandbox-ram-" + name, memorySize);
        return withRam(kvm, file, () -> file.map(Mapping.Sharing.SHARED, true));
    }

    /**
     * A VM whose RAM is {@code memoryFile} (a snapshot's, exactly {@code memorySize} bytes) mapped copy-on-write:
     * the file is never written, pages are read as the guest touches them, and clones of one file share them.
     */
    public static Vm restore(Kvm kvm, Path memoryFile, long memorySize) {
        checkSize(memorySize);
        return withRam(kvm, null, () -> Mapping.ofFile(memoryFile, 0, memorySize, Mapping.Sharing.PRIVATE, true));
    }

    private static void checkSize(long memorySize) {
        if (memorySize <= 0 || memorySize > Layout.MMIO_GAP_START || memorySize % 4096 != 0) {
            throw new IllegalArgumentException("guest memory of 0x%x bytes".formatted(memorySize));
        }
    }

    /** The VM and its interrupt controllers around the RAM {@code map} gives; {@code file} (may be null) and all. */
    private static Vm withRam(Kvm kvm, MemFd file, Supplier<Mapping> map) {
        VmFd fd = null;
        Mapping mapping = null;
        try {
            fd = kvm.createVm();
            fd.setTssAddr(TSS_ADDRESS);
            fd.setIdentityMapAddr(IDENTITY_MAP_ADDRESS);
            fd.createIrqchip();
            fd.createPit2(KvmConstants.KVM_PIT_SPEAKER_DUMMY);
            mapping = map.get();
            fd.setUserMemoryRegion(MEMORY_SLOT, 0, 0, mapping);
            return new Vm(fd, file, mapping);
        } catch (RuntimeException e) {
            closeQuietly(mapping, e);
            closeQuietly(file, e);
            closeQuietly(fd, e);
            throw e;
        }
    }

    /** RAM pages written since a restored VM's file was mapped; meaningless for a booted VM's shared memfd. */
    public BitSet writtenPages() {
        if (memoryFile != null) {
            throw new IllegalStateException("a booted VM's RAM is a shared memfd: every page counts");
        }
        return PageMap.writtenPages(mapping);
    }

    /**
     * A booted VM's RAM pages that hold data (the memfd's, swapped out ones included); every other page is a hole
     * and still zero.
     */
    public BitSet dataPages() {
        if (memoryFile == null) {
            throw new IllegalStateException("a restored VM's RAM is a private mapping: see writtenPages");
        }
        return memoryFile.dataPages();
    }

    public VmFd fd() {
        return fd;
    }

    public GuestMemory memory() {
        return memory;
    }

    public long memorySize() {
        return mapping.byteSize();
    }

    @Override
    public void close() {
        RuntimeException failure = null;
        for (AutoCloseable c : new AutoCloseable[] {fd, mapping, memoryFile}) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = new IllegalStateException("closing the VM failed", e);
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private static void closeQuietly(AutoCloseable c, Exception primary) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            primary.addSuppressed(e);
        }
    }
}
