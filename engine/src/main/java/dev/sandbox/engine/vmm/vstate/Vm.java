package dev.sandbox.engine.vmm.vstate;

import dev.sandbox.engine.vmm.arch.Layout;
import dev.sandbox.engine.vmm.memory.DeltaRuns;
import dev.sandbox.engine.vmm.memory.GuestMemory;
import dev.sandbox.engine.vmm.memory.RestoredRam;
import dev.sandbox.ffi.Mapping;
import dev.sandbox.ffi.MemFd;
import dev.sandbox.ffi.kvm.Kvm;
import dev.sandbox.ffi.kvm.KvmConstants;
import dev.sandbox.ffi.kvm.VmFd;

import java.nio.file.Path;
import java.util.BitSet;
import java.util.Optional;
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
    /** The delta mapped over a restored VM's base, or null. */
    private final DeltaRuns delta;

    /** {@code memoryFile} is null when RAM is a private mapping of a snapshot's memory file. */
    private Vm(VmFd fd, MemFd memoryFile, Mapping mapping, DeltaRuns delta) {
        this.fd = fd;
        this.memoryFile = memoryFile;
        this.mapping = mapping;
        this.delta = delta;
        this.memory = GuestMemory.wrap(mapping.segment());
    }

    /** A VM with {@code memorySize} bytes of RAM and its interrupt controllers; nothing leaks if a step fails. */
    public static Vm create(Kvm kvm, String name, long memorySize) {
        checkSize(memorySize);
        MemFd file = MemFd.create("sandbox-ram-" + name, memorySize);
        return withRam(kvm, file, () -> file.map(Mapping.Sharing.SHARED, true), null);
    }

    /**
     * A VM whose RAM is {@code memoryFile} (a snapshot's, exactly {@code memorySize} bytes) mapped copy-on-write,
     * with the runs of {@code delta} (checked; null for none) mapped copy-on-write over it: the files are never
     * written, pages are read as the guest touches them, and clones of one file share them.
     */
    public static Vm restore(Kvm kvm, Path memoryFile, long memorySize, DeltaRuns delta) {
        checkSize(memorySize);
        return withRam(kvm, null, () -> RestoredRam.map(memoryFile, memorySize, delta), delta);
    }

    private static void checkSize(long memorySize) {
        if (memorySize <= 0 || memorySize > Layout.MMIO_GAP_START || memorySize % 4096 != 0) {
            throw new IllegalArgumentException("guest memory of 0x%x bytes".formatted(memorySize));
        }
    }

    /** The VM and its interrupt controllers around the RAM {@code map} gives; {@code file} (may be null) and all. */
    private static Vm withRam(Kvm kvm, MemFd file, Supplier<Mapping> map, DeltaRuns delta) {
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
            return new Vm(fd, file, mapping, delta);
        } catch (RuntimeException e) {
            closeQuietly(mapping, e);
            closeQuietly(file, e);
            closeQuietly(fd, e);
            throw e;
        }
    }

    /**
     * A restored VM's RAM pages that differ from its base: written since the files were mapped, or brought by the
     * mapped delta. Meaningless for a booted VM's shared memfd.
     */
    public BitSet writtenPages() {
        if (memoryFile != null) {
            throw new IllegalStateException("a booted VM's RAM is a shared memfd: every page counts");
        }
        return RestoredRam.changedPages(mapping, delta);
    }

    /** The delta file mapped over a restored VM's base, if any: in use until this VM is closed. */
    public Optional<Path> mappedDelta() {
        return Optional.ofNullable(delta).map(DeltaRuns::file);
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
