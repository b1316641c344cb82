package dev.sandbox.ffi.kvm;

import static dev.sandbox.ffi.kvm.KvmAbi.KVM_CPUID2;
import static dev.sandbox.ffi.kvm.KvmAbi.KVM_CPUID_ENTRY2;
import static dev.sandbox.ffi.kvm.KvmAbi.KVM_MSR_LIST;
import static dev.sandbox.ffi.kvm.KvmAbi.U32;

import dev.sandbox.ffi.Errno;
import dev.sandbox.ffi.Libc;
import dev.sandbox.ffi.LinuxAbi;
import dev.sandbox.ffi.NativeException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Owner of an open {@code /dev/kvm}: system-wide queries and VM creation. */
public final class Kvm implements AutoCloseable {
    public static final Path DEVICE = Path.of("/dev/kvm");

    private static final long NENT = Structs.offset(KVM_CPUID2, "nent");
    private static final long CPUID_ENTRIES = Structs.offset(KVM_CPUID2, "entries");
    private static final long NMSRS = Structs.offset(KVM_MSR_LIST, "nmsrs");
    private static final long INDICES = Structs.offset(KVM_MSR_LIST, "indices");
    private static final int MAX_CPUID_ENTRIES = 4096;

    private final OwnedFd fd;

    private Kvm(int fd) {
        this.fd = new OwnedFd(fd, "/dev/kvm");
    }

    /** Opens {@code /dev/kvm}; throws NativeException (ENOENT, EACCES) where there is none. */
    public static Kvm open() {
        return open(DEVICE);
    }

    public static Kvm open(Path device) {
        return new Kvm(Libc.open(device.toString(), LinuxAbi.O_RDWR | LinuxAbi.O_CLOEXEC, 0));
    }

    /** Whether this machine has a KVM device at all (not whether we may open it). */
    public static boolean isPresent() {
        return java.nio.file.Files.exists(DEVICE);
    }

    /** 12 on every kernel since 2.6.22; anything else is not the ABI this package speaks. */
    public int apiVersion() {
        return fd.ioctl(KvmIoctls.KVM_GET_API_VERSION, 0);
    }

    /** KVM_CHECK_EXTENSION: 0 if absent, else 1 or a capability-specific number. */
    public int checkExtension(int capability) {
        return fd.ioctl(KvmIoctls.KVM_CHECK_EXTENSION, capability);
    }

    public boolean hasExtension(int capability) {
        return checkExtension(capability) > 0;
    }

    /** Size of each vCPU's kvm_run mapping. */
    public int vcpuMmapSize() {
        return fd.ioctl(KvmIoctls.KVM_GET_VCPU_MMAP_SIZE, 0);
    }

    /** The CPUID leaves KVM can offer a guest on this host (the starting point for KVM_SET_CPUID2). */
    public List<CpuidEntry> supportedCpuid() {
        for (int capacity = 128; ; capacity *= 2) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment cpuid = arena.allocate(KVM_CPUID2.byteSize() + capacity * KVM_CPUID_ENTRY2.byteSize(),
                        KVM_CPUID2.byteAlignment());
                cpuid.set(U32, NENT, capacity);
                try {
                    fd.ioctl(KvmIoctls.KVM_GET_SUPPORTED_CPUID, cpuid);
                } catch (NativeException e) {
                    if (e.is(Errno.E2BIG) && capacity < MAX_CPUID_ENTRIES) {
                        continue;
                    }
                    throw e;
                }
                return Cpuid.read(cpuid.asSlice(CPUID_ENTRIES), cpuid.get(U32, NENT));
            }
        }
    }

    /** The MSR indices KVM_GET_MSRS/KVM_SET_MSRS know (what a snapshot must save). */
    public int[] msrIndexList() {
        int count;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment probe = arena.allocate(KVM_MSR_LIST);
            try {
                fd.ioctl(KvmIoctls.KVM_GET_MSR_INDEX_LIST, probe); // nmsrs 0: fails with E2BIG, filling the count
                return new int[0];
            } catch (NativeException e) {
                if (!e.is(Errno.E2BIG)) {
                    throw e;
                }
            }
            count = probe.get(U32, NMSRS);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment list = arena.allocate(KVM_MSR_LIST.byteSize() + 4L * count, KVM_MSR_LIST.byteAlignment());
            list.set(U32, NMSRS, count);
            fd.ioctl(KvmIoctls.KVM_GET_MSR_INDEX_LIST, list);
            return list.asSlice(INDICES, 4L * list.get(U32, NMSRS)).toArray(U32);
        }
    }

    /** KVM_CREATE_VM with the default machine type. */
    public VmFd createVm() {
        int mmapSize = vcpuMmapSize();
        return new VmFd(fd.ioctl(KvmIoctls.KVM_CREATE_VM, 0), mmapSize);
    }

    @Override
    public void close() {
        fd.close();
    }

    /** Converts between CpuidEntry lists and kvm_cpuid_entry2 arrays. */
    static final class Cpuid {
        private static final String[] FIELDS = {"function", "index", "flags", "eax", "ebx", "ecx", "edx"};
        private static final long[] OFFSETS = new long[FIELDS.length];

        static {
            for (int i = 0; i < FIELDS.length; i++) {
                OFFSETS[i] = Structs.offset(KVM_CPUID_ENTRY2, FIELDS[i]);
            }
        }

        private Cpuid() {}

        static List<CpuidEntry> read(MemorySegment entries, int count) {
            List<CpuidEntry> out = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                MemorySegment e = entries.asSlice(i * KVM_CPUID_ENTRY2.byteSize(), KVM_CPUID_ENTRY2);
                int[] v = new int[FIELDS.length];
                for (int f = 0; f < v.length; f++) {
                    v[f] = e.get(U32, OFFSETS[f]);
                }
                out.add(new CpuidEntry(v[0], v[1], v[2], v[3], v[4], v[5], v[6]));
            }
            return List.copyOf(out);
        }

        static void write(List<CpuidEntry> list, MemorySegment entries) {
            for (int i = 0; i < list.size(); i++) {
                CpuidEntry c = list.get(i);
                MemorySegment e = entries.asSlice(i * KVM_CPUID_ENTRY2.byteSize(), KVM_CPUID_ENTRY2);
                int[] v = {c.function(), c.index(), c.flags(), c.eax(), c.ebx(), c.ecx(), c.edx()};
                for (int f = 0; f < v.length; f++) {
                    e.set(U32, OFFSETS[f], v[f]);
                }
            }
        }
    }
}
