package dev.sandbox.engine.vmm.builder;

import dev.sandbox.engine.vmm.arch.CpuidEntry;

import java.util.List;

/** Says how two CPUID tables differ, for the error of a restore on a host with another CPU. */
final class CpuidDiff {
    private CpuidDiff() {
    }

    static String describe(List<CpuidEntry> saved, List<CpuidEntry> here) {
        if (saved.size() != here.size()) {
            return "the snapshot has %d CPUID leaves, this host %d".formatted(saved.size(), here.size());
        }
        for (int i = 0; i < saved.size(); i++) {
            CpuidEntry a = saved.get(i);
            CpuidEntry b = here.get(i);
            if (!a.equals(b)) {
                return "leaf 0x%x.%d is %s in the snapshot, %s here".formatted(a.function(), a.index(), a, b);
            }
        }
        return "no difference";
    }
}
