package dev.sandbox.engine.vmm.vstate;

import dev.sandbox.engine.vmm.arch.Cpuid;
import dev.sandbox.engine.vmm.arch.CpuidEntry;
import dev.sandbox.ffi.kvm.Kvm;
import dev.sandbox.ffi.kvm.VcpuFd;
import dev.sandbox.ffi.kvm.VmFd;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/**
 * The MSRs a snapshot keeps on this host: every MSR KVM lists (KVM_GET_MSR_INDEX_LIST) plus the MTRRs, which KVM
 * does not list but the guest's memory types depend on (boot sets MTRR_DEF_TYPE). Some listed MSRs cannot be read
 * on a given host (a feature the CPU lacks); they are found once, on a scratch vCPU with the guest's CPUID, and
 * logged. From then on every save must read, and every restore must write, each MSR of the set: a failure is loud.
 */
public final class SavedMsrs {
    private static final System.Logger LOG = System.getLogger(SavedMsrs.class.getName());
    /** Variable-range base/mask pairs 0x200-0x20f, the fixed ranges, and MTRR_DEF_TYPE. */
    static final int[] MTRRS = mtrrs();

    private SavedMsrs() {
    }

    private static int[] mtrrs() {
        List<Integer> list = new ArrayList<>();
        for (int i = 0x200; i <= 0x20f; i++) {
            list.add(i);
        }
        list.addAll(List.of(0x250, 0x258, 0x259));
        for (int i = 0x268; i <= 0x26f; i++) {
            list.add(i);
        }
        list.add(0x2ff);
        return list.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The listed MSRs and the MTRRs, without duplicates. */
    static int[] candidates(int[] listed) {
        TreeSet<Integer> all = new TreeSet<>();
        Arrays.stream(listed).forEach(all::add);
        Arrays.stream(MTRRS).forEach(all::add);
        // by index; the restore puts TSC_DEADLINE after the TSC itself (VcpuSnapshot.orderedForRestore)
        return all.stream().mapToInt(Integer::intValue).toArray();
    }

    /** What the scratch vCPU showed: the MSRs to save, and the TSC frequency a new vCPU gets here. */
    public record Probe(int[] msrs, int tscKhz) {
    }

    /** Probes a scratch VM (irqchip and one vCPU with the guest's CPUID) for the candidates it can read. */
    public static Probe probe(Kvm kvm, List<CpuidEntry> supportedCpuid) {
        int[] candidates = candidates(kvm.msrIndexList());
        try (VmFd vm = kvm.createVm()) {
            vm.setTssAddr(Vm.TSS_ADDRESS);
            vm.createIrqchip();
            try (VcpuFd vcpu = vm.createVcpu(0)) {
                vcpu.setCpuid2(KvmTypes.toKvm(Cpuid.forVcpu(supportedCpuid, 0, 1)));
                return new Probe(readable(vcpu, candidates), vcpu.getTscKhz());
            }
        }
    }

    /** The subset of {@code indices} KVM can read on {@code fd}; the rest is logged once. */
    static int[] readable(VcpuFd fd, int[] indices) {
        List<Integer> left = new ArrayList<>();
        Arrays.stream(indices).forEach(left::add);
        List<String> dropped = new ArrayList<>();
        while (true) {
            try {
                fd.getMsrs(left.stream().mapToInt(Integer::intValue).toArray());
                break;
            } catch (IllegalArgumentException e) {
                int before = left.size();
                left.removeIf(i -> {
                    boolean bad = e.getMessage().endsWith(" 0x" + Integer.toHexString(i));
                    if (bad) {
                        dropped.add("0x" + Integer.toHexString(i));
                    }
                    return bad;
                });
                if (left.size() == before) {
                    throw e;
                }
            }
        }
        if (!dropped.isEmpty()) {
            LOG.log(System.Logger.Level.INFO, "MSRs KVM lists but cannot read on this host, not in snapshots: {0}",
                    dropped);
        }
        return left.stream().mapToInt(Integer::intValue).toArray();
    }
}
