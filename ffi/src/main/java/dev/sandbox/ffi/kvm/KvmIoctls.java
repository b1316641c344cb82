package dev.sandbox.ffi.kvm;

import static dev.sandbox.ffi.kvm.Ioctl.io;
import static dev.sandbox.ffi.kvm.Ioctl.ior;
import static dev.sandbox.ffi.kvm.Ioctl.iow;
import static dev.sandbox.ffi.kvm.Ioctl.iowr;

import dev.sandbox.ffi.kvm.KvmAbi;

/**
 * Raw tier: the KVM ioctl requests we use, computed like {@code <linux/kvm.h>} does; the ABI test compares each
 * with the C macro of the same name.
 */
public final class KvmIoctls {
    private KvmIoctls() {}

    static final int KVMIO = 0xAE;

    // On /dev/kvm
    public static final Ioctl KVM_GET_API_VERSION = io("KVM_GET_API_VERSION", KVMIO, 0x00);
    public static final Ioctl KVM_CREATE_VM = io("KVM_CREATE_VM", KVMIO, 0x01);
    public static final Ioctl KVM_GET_MSR_INDEX_LIST = iowr("KVM_GET_MSR_INDEX_LIST", KVMIO, 0x02,
            KvmAbi.KVM_MSR_LIST);
    public static final Ioctl KVM_CHECK_EXTENSION = io("KVM_CHECK_EXTENSION", KVMIO, 0x03);
    public static final Ioctl KVM_GET_VCPU_MMAP_SIZE = io("KVM_GET_VCPU_MMAP_SIZE", KVMIO, 0x04);
    public static final Ioctl KVM_GET_SUPPORTED_CPUID = iowr("KVM_GET_SUPPORTED_CPUID", KVMIO, 0x05,
            KvmAbi.KVM_CPUID2);

    // On a VM fd
    public static final Ioctl KVM_CREATE_VCPU = io("KVM_CREATE_VCPU", KVMIO, 0x41);
    public static final Ioctl KVM_GET_DIRTY_LOG = iow("KVM_GET_DIRTY_LOG", KVMIO, 0x42, KvmAbi.KVM_DIRTY_LOG);
    public static final Ioctl KVM_SET_USER_MEMORY_REGION = iow("KVM_SET_USER_MEMORY_REGION", KVMIO, 0x46,
            KvmAbi.KVM_USERSPACE_MEMORY_REGION);
    public static final Ioctl KVM_SET_TSS_ADDR = io("KVM_SET_TSS_ADDR", KVMIO, 0x47);
    public static final Ioctl KVM_SET_IDENTITY_MAP_ADDR = iow("KVM_SET_IDENTITY_MAP_ADDR", KVMIO, 0x48, KvmAbi.U64);
    public static final Ioctl KVM_CREATE_IRQCHIP = io("KVM_CREATE_IRQCHIP", KVMIO, 0x60);
    public static final Ioctl KVM_IRQ_LINE = iow("KVM_IRQ_LINE", KVMIO, 0x61, KvmAbi.KVM_IRQ_LEVEL);
    public static final Ioctl KVM_GET_IRQCHIP = iowr("KVM_GET_IRQCHIP", KVMIO, 0x62, KvmAbi.KVM_IRQCHIP);
    // Yes, _IOR: the header got the direction backwards long ago and it is ABI now.
    public static final Ioctl KVM_SET_IRQCHIP = ior("KVM_SET_IRQCHIP", KVMIO, 0x63, KvmAbi.KVM_IRQCHIP);
    public static final Ioctl KVM_IRQFD = iow("KVM_IRQFD", KVMIO, 0x76, KvmAbi.KVM_IRQFD);
    public static final Ioctl KVM_CREATE_PIT2 = iow("KVM_CREATE_PIT2", KVMIO, 0x77, KvmAbi.KVM_PIT_CONFIG);
    public static final Ioctl KVM_IOEVENTFD = iow("KVM_IOEVENTFD", KVMIO, 0x79, KvmAbi.KVM_IOEVENTFD);
    public static final Ioctl KVM_SET_CLOCK = iow("KVM_SET_CLOCK", KVMIO, 0x7b, KvmAbi.KVM_CLOCK_DATA);
    public static final Ioctl KVM_GET_CLOCK = ior("KVM_GET_CLOCK", KVMIO, 0x7c, KvmAbi.KVM_CLOCK_DATA);
    public static final Ioctl KVM_GET_PIT2 = ior("KVM_GET_PIT2", KVMIO, 0x9f, KvmAbi.KVM_PIT_STATE2);
    public static final Ioctl KVM_SET_PIT2 = iow("KVM_SET_PIT2", KVMIO, 0xa0, KvmAbi.KVM_PIT_STATE2);

    // On a vCPU fd
    public static final Ioctl KVM_RUN = io("KVM_RUN", KVMIO, 0x80);
    public static final Ioctl KVM_GET_REGS = ior("KVM_GET_REGS", KVMIO, 0x81, KvmAbi.KVM_REGS);
    public static final Ioctl KVM_SET_REGS = iow("KVM_SET_REGS", KVMIO, 0x82, KvmAbi.KVM_REGS);
    public static final Ioctl KVM_GET_SREGS = ior("KVM_GET_SREGS", KVMIO, 0x83, KvmAbi.KVM_SREGS);
    public static final Ioctl KVM_SET_SREGS = iow("KVM_SET_SREGS", KVMIO, 0x84, KvmAbi.KVM_SREGS);
    public static final Ioctl KVM_GET_MSRS = iowr("KVM_GET_MSRS", KVMIO, 0x88, KvmAbi.KVM_MSRS);
    public static final Ioctl KVM_SET_MSRS = iow("KVM_SET_MSRS", KVMIO, 0x89, KvmAbi.KVM_MSRS);
    public static final Ioctl KVM_SET_SIGNAL_MASK = iow("KVM_SET_SIGNAL_MASK", KVMIO, 0x8b, KvmAbi.KVM_SIGNAL_MASK);
    public static final Ioctl KVM_GET_FPU = ior("KVM_GET_FPU", KVMIO, 0x8c, KvmAbi.KVM_FPU);
    public static final Ioctl KVM_SET_FPU = iow("KVM_SET_FPU", KVMIO, 0x8d, KvmAbi.KVM_FPU);
    public static final Ioctl KVM_GET_LAPIC = ior("KVM_GET_LAPIC", KVMIO, 0x8e, KvmAbi.KVM_LAPIC_STATE);
    public static final Ioctl KVM_SET_LAPIC = iow("KVM_SET_LAPIC", KVMIO, 0x8f, KvmAbi.KVM_LAPIC_STATE);
    public static final Ioctl KVM_SET_CPUID2 = iow("KVM_SET_CPUID2", KVMIO, 0x90, KvmAbi.KVM_CPUID2);
    public static final Ioctl KVM_GET_MP_STATE = ior("KVM_GET_MP_STATE", KVMIO, 0x98, KvmAbi.KVM_MP_STATE);
    public static final Ioctl KVM_SET_MP_STATE = iow("KVM_SET_MP_STATE", KVMIO, 0x99, KvmAbi.KVM_MP_STATE);
    public static final Ioctl KVM_GET_VCPU_EVENTS = ior("KVM_GET_VCPU_EVENTS", KVMIO, 0x9f, KvmAbi.KVM_VCPU_EVENTS);
    public static final Ioctl KVM_SET_VCPU_EVENTS = iow("KVM_SET_VCPU_EVENTS", KVMIO, 0xa0, KvmAbi.KVM_VCPU_EVENTS);
    public static final Ioctl KVM_GET_DEBUGREGS = ior("KVM_GET_DEBUGREGS", KVMIO, 0xa1, KvmAbi.KVM_DEBUGREGS);
    public static final Ioctl KVM_SET_DEBUGREGS = iow("KVM_SET_DEBUGREGS", KVMIO, 0xa2, KvmAbi.KVM_DEBUGREGS);
    public static final Ioctl KVM_SET_TSC_KHZ = io("KVM_SET_TSC_KHZ", KVMIO, 0xa2);
    public static final Ioctl KVM_GET_TSC_KHZ = io("KVM_GET_TSC_KHZ", KVMIO, 0xa3);
    public static final Ioctl KVM_GET_XSAVE = ior("KVM_GET_XSAVE", KVMIO, 0xa4, KvmAbi.KVM_XSAVE);
    public static final Ioctl KVM_SET_XSAVE = iow("KVM_SET_XSAVE", KVMIO, 0xa5, KvmAbi.KVM_XSAVE);
    public static final Ioctl KVM_GET_XCRS = ior("KVM_GET_XCRS", KVMIO, 0xa6, KvmAbi.KVM_XCRS);
    public static final Ioctl KVM_SET_XCRS = iow("KVM_SET_XCRS", KVMIO, 0xa7, KvmAbi.KVM_XCRS);
    public static final Ioctl KVM_KVMCLOCK_CTRL = io("KVM_KVMCLOCK_CTRL", KVMIO, 0xad);
}
