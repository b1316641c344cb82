package dev.sandbox.ffi.kvm;

import static dev.sandbox.ffi.kvm.KvmAbi.KVM_CLOCK_DATA;
import static dev.sandbox.ffi.kvm.KvmAbi.KVM_DIRTY_LOG;
import static dev.sandbox.ffi.kvm.KvmAbi.KVM_IOEVENTFD;
import static dev.sandbox.ffi.kvm.KvmAbi.KVM_IRQCHIP;
import static dev.sandbox.ffi.kvm.KvmAbi.KVM_IRQFD;
import static dev.sandbox.ffi.kvm.KvmAbi.KVM_IRQ_LEVEL;
import static dev.sandbox.ffi.kvm.KvmAbi.KVM_PIT_CONFIG;
import static dev.sandbox.ffi.kvm.KvmAbi.KVM_PIT_STATE2;
import static dev.sandbox.ffi.kvm.KvmAbi.KVM_USERSPACE_MEMORY_REGION;
import static dev.sandbox.ffi.kvm.KvmAbi.U32;
import static dev.sandbox.ffi.kvm.KvmAbi.U64;
import static dev.sandbox.ffi.kvm.KvmAbi.U8;

import dev.sandbox.ffi.EventFd;
import dev.sandbox.ffi.Mapping;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;
import java.util.OptionalLong;

/** Owner of a VM fd: memory slots, in-kernel irqchip and PIT, eventfd wiring, VM-wide state, vCPU creation. */
public final class VmFd implements AutoCloseable {
    private static final long PAGE_SIZE = 4096;

    private final OwnedFd fd;
    private final int vcpuMmapSize;

    VmFd(int fd, int vcpuMmapSize) {
        this.fd = new OwnedFd(fd, "VM fd");
        this.vcpuMmapSize = vcpuMmapSize;
    }

    /**
     * Maps {@code size} bytes of {@code memory} from {@code offset} at guest physical {@code guestPhysAddr} as
     * memory slot {@code slot}. {@code flags}: {@link KvmConstants#KVM_MEM_LOG_DIRTY_PAGES},
     * {@link KvmConstants#KVM_MEM_READONLY}. The mapping must outlive the slot.
     */
    public void setUserMemoryRegion(int slot, int flags, long guestPhysAddr, Mapping memory, long offset,
            long size) {
        Objects.checkFromIndexSize(offset, size, memory.byteSize());
        setRegion(slot, flags, guestPhysAddr, size, memory.address() + offset);
    }

    /** The whole mapping as one slot. */
    public void setUserMemoryRegion(int slot, int flags, long guestPhysAddr, Mapping memory) {
        setUserMemoryRegion(slot, flags, guestPhysAddr, memory, 0, memory.byteSize());
    }

    /** Deletes a slot (size 0), e.g. before unmapping its memory. */
    public void removeUserMemoryRegion(int slot) {
        setRegion(slot, 0, 0, 0, 0);
    }

    private void setRegion(int slot, int flags, long guestPhysAddr, long size, long userAddr) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = arena.allocate(KVM_USERSPACE_MEMORY_REGION);
            r.set(U32, Structs.offset(KVM_USERSPACE_MEMORY_REGION, "slot"), slot);
            r.set(U32, Structs.offset(KVM_USERSPACE_MEMORY_REGION, "flags"), flags);
            r.set(U64, Structs.offset(KVM_USERSPACE_MEMORY_REGION, "guest_phys_addr"), guestPhysAddr);
            r.set(U64, Structs.offset(KVM_USERSPACE_MEMORY_REGION, "memory_size"), size);
            r.set(U64, Structs.offset(KVM_USERSPACE_MEMORY_REGION, "userspace_addr"), userAddr);
            fd.ioctl(KvmIoctls.KVM_SET_USER_MEMORY_REGION, r);
        }
    }

    /** Three pages of guest physical space for Intel VMX's real-mode TSS; harmless on AMD. */
    public void setTssAddr(long guestPhysAddr) {
        fd.ioctl(KvmIoctls.KVM_SET_TSS_ADDR, guestPhysAddr);
    }

    /** One page for Intel VMX's real-mode identity page table; call before creating vCPUs. */
    public void setIdentityMapAddr(long guestPhysAddr) {
        try (Arena arena = Arena.ofConfined()) {
            fd.ioctl(KvmIoctls.KVM_SET_IDENTITY_MAP_ADDR, arena.allocateFrom(U64, guestPhysAddr));
        }
    }

    /** In-kernel PIC pair, IOAPIC and per-vCPU local APICs; call before creating vCPUs. */
    public void createIrqchip() {
        fd.ioctl(KvmIoctls.KVM_CREATE_IRQCHIP, 0);
    }

    /** In-kernel i8254 PIT; {@code flags} e.g. {@link KvmConstants#KVM_PIT_SPEAKER_DUMMY}. Needs the irqchip. */
    public void createPit2(int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment c = arena.allocate(KVM_PIT_CONFIG);
            c.set(U32, Structs.offset(KVM_PIT_CONFIG, "flags"), flags);
            fd.ioctl(KvmIoctls.KVM_CREATE_PIT2, c);
        }
    }

    /** Writing {@code event} raises interrupt line {@code gsi} (edge) without a trip through userspace. */
    public void irqfd(EventFd event, int gsi) {
        irqfd(event, gsi, 0);
    }

    public void removeIrqfd(EventFd event, int gsi) {
        irqfd(event, gsi, KvmConstants.KVM_IRQFD_FLAG_DEASSIGN);
    }

    private void irqfd(EventFd event, int gsi, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KVM_IRQFD);
            s.set(U32, Structs.offset(KVM_IRQFD, "fd"), event.fd());
            s.set(U32, Structs.offset(KVM_IRQFD, "gsi"), gsi);
            s.set(U32, Structs.offset(KVM_IRQFD, "flags"), flags);
            fd.ioctl(KvmIoctls.KVM_IRQFD, s);
        }
    }

    /**
     * A guest write of {@code length} bytes to {@code address} (a port if {@code pio}, else MMIO) signals
     * {@code event} instead of exiting, when the value equals {@code datamatch} (or always when empty).
     */
    public void ioeventfd(EventFd event, long address, int length, boolean pio, OptionalLong datamatch) {
        ioeventfd(event, address, length, pio, datamatch, 0);
    }

    /** Undoes {@link #ioeventfd} with the same arguments. */
    public void removeIoeventfd(EventFd event, long address, int length, boolean pio, OptionalLong datamatch) {
        ioeventfd(event, address, length, pio, datamatch, KvmConstants.KVM_IOEVENTFD_FLAG_DEASSIGN);
    }

    private void ioeventfd(EventFd event, long address, int length, boolean pio, OptionalLong datamatch, int flags) {
        flags |= pio ? KvmConstants.KVM_IOEVENTFD_FLAG_PIO : 0;
        flags |= datamatch.isPresent() ? KvmConstants.KVM_IOEVENTFD_FLAG_DATAMATCH : 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KVM_IOEVENTFD);
            s.set(U64, Structs.offset(KVM_IOEVENTFD, "datamatch"), datamatch.orElse(0));
            s.set(U64, Structs.offset(KVM_IOEVENTFD, "addr"), address);
            s.set(U32, Structs.offset(KVM_IOEVENTFD, "len"), length);
            s.set(U32, Structs.offset(KVM_IOEVENTFD, "fd"), event.fd());
            s.set(U32, Structs.offset(KVM_IOEVENTFD, "flags"), flags);
            fd.ioctl(KvmIoctls.KVM_IOEVENTFD, s);
        }
    }

    /** Drives interrupt line {@code irq} of the in-kernel irqchip high or low. */
    public void irqLine(int irq, boolean high) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KVM_IRQ_LEVEL);
            s.set(U32, Structs.offset(KVM_IRQ_LEVEL, "anon_irq", "irq"), irq);
            s.set(U32, Structs.offset(KVM_IRQ_LEVEL, "level"), high ? 1 : 0);
            fd.ioctl(KvmIoctls.KVM_IRQ_LINE, s);
        }
    }

    public ClockData getClock() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KVM_CLOCK_DATA);
            fd.ioctl(KvmIoctls.KVM_GET_CLOCK, s);
            return new ClockData(s.get(U64, Structs.offset(KVM_CLOCK_DATA, "clock")),
                    s.get(U32, Structs.offset(KVM_CLOCK_DATA, "flags")),
                    s.get(U64, Structs.offset(KVM_CLOCK_DATA, "realtime")),
                    s.get(U64, Structs.offset(KVM_CLOCK_DATA, "host_tsc")));
        }
    }

    public void setClock(ClockData clock) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KVM_CLOCK_DATA);
            s.set(U64, Structs.offset(KVM_CLOCK_DATA, "clock"), clock.clock());
            s.set(U32, Structs.offset(KVM_CLOCK_DATA, "flags"), clock.flags());
            s.set(U64, Structs.offset(KVM_CLOCK_DATA, "realtime"), clock.realtime());
            s.set(U64, Structs.offset(KVM_CLOCK_DATA, "host_tsc"), clock.hostTsc());
            fd.ioctl(KvmIoctls.KVM_SET_CLOCK, s);
        }
    }

    /**
     * The pages of slot {@code slot} ({@code memorySize} bytes) written since the last call, one bit per 4 KiB
     * page, bit {@code i % 64} of word {@code i / 64} for page {@code i}. Needs KVM_MEM_LOG_DIRTY_PAGES.
     */
    public long[] getDirtyLog(int slot, long memorySize) {
        long pages = (memorySize + PAGE_SIZE - 1) / PAGE_SIZE;
        long words = (pages + 63) / 64;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bitmap = arena.allocate(U64, words);
            MemorySegment s = arena.allocate(KVM_DIRTY_LOG);
            s.set(U32, Structs.offset(KVM_DIRTY_LOG, "slot"), slot);
            s.set(ValueLayout.ADDRESS, Structs.offset(KVM_DIRTY_LOG, "anon_bitmap", "dirty_bitmap"), bitmap);
            fd.ioctl(KvmIoctls.KVM_GET_DIRTY_LOG, s);
            return bitmap.toArray(U64);
        }
    }

    /** One chip of the in-kernel irqchip: {@link KvmConstants#KVM_IRQCHIP_PIC_MASTER}, _PIC_SLAVE, _IOAPIC. */
    public Irqchip getIrqchip(int chipId) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KVM_IRQCHIP);
            s.set(U32, Structs.offset(KVM_IRQCHIP, "chip_id"), chipId);
            fd.ioctl(KvmIoctls.KVM_GET_IRQCHIP, s);
            return new Irqchip(chipId, s.asSlice(Structs.offset(KVM_IRQCHIP, "chip"), Irqchip.STATE_SIZE)
                    .toArray(U8));
        }
    }

    public void setIrqchip(Irqchip chip) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KVM_IRQCHIP);
            s.set(U32, Structs.offset(KVM_IRQCHIP, "chip_id"), chip.chipId());
            MemorySegment.copy(chip.state(), 0, s, U8, Structs.offset(KVM_IRQCHIP, "chip"), (int) Irqchip.STATE_SIZE);
            fd.ioctl(KvmIoctls.KVM_SET_IRQCHIP, s);
        }
    }

    public PitState getPit2() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(KVM_PIT_STATE2);
            fd.ioctl(KvmIoctls.KVM_GET_PIT2, s);
            return new PitState(s.toArray(U8));
        }
    }

    public void setPit2(PitState pit) {
        try (Arena arena = Arena.ofConfined()) {
            fd.ioctl(KvmIoctls.KVM_SET_PIT2, arena.allocateFrom(U8, pit.bytes()));
        }
    }

    /** KVM_CREATE_VCPU with APIC id {@code id}, its kvm_run page mapped. */
    public VcpuFd createVcpu(int id) {
        int vcpu = fd.ioctl(KvmIoctls.KVM_CREATE_VCPU, id);
        try {
            return new VcpuFd(vcpu, id, vcpuMmapSize);
        } catch (RuntimeException e) {
            new OwnedFd(vcpu, "vCPU fd").close();
            throw e;
        }
    }

    /** KVM_CHECK_EXTENSION on the VM: some answers (e.g. KVM_CAP_XSAVE2, NR_MEMSLOTS) are per VM. */
    public int checkExtension(int capability) {
        return fd.ioctl(KvmIoctls.KVM_CHECK_EXTENSION, capability);
    }

    @Override
    public void close() {
        fd.close();
    }
}
