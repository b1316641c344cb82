package dev.sandbox.engine.vmm.arch;

import java.util.List;

/** MSR values every vCPU starts with, as Firecracker sets them: syscall MSRs cleared, fast strings, write-back MTRRs. */
public final class Msrs {
    public static final int IA32_TSC = 0x10;
    public static final int IA32_SYSENTER_CS = 0x174;
    public static final int IA32_SYSENTER_ESP = 0x175;
    public static final int IA32_SYSENTER_EIP = 0x176;
    public static final int IA32_MISC_ENABLE = 0x1a0;
    public static final int MTRR_DEF_TYPE = 0x2ff;
    public static final int STAR = 0xc000_0081;
    public static final int LSTAR = 0xc000_0082;
    public static final int CSTAR = 0xc000_0083;
    public static final int SYSCALL_MASK = 0xc000_0084;
    public static final int KERNEL_GS_BASE = 0xc000_0102;

    static final long MISC_ENABLE_FAST_STRING = 1;
    static final long MTRR_ENABLE = 1 << 11;
    static final long MTRR_MEM_TYPE_WB = 6;

    public static final List<MsrEntry> BOOT = List.of(
            new MsrEntry(IA32_SYSENTER_CS, 0),
            new MsrEntry(IA32_SYSENTER_ESP, 0),
            new MsrEntry(IA32_SYSENTER_EIP, 0),
            new MsrEntry(STAR, 0),
            new MsrEntry(CSTAR, 0),
            new MsrEntry(KERNEL_GS_BASE, 0),
            new MsrEntry(SYSCALL_MASK, 0),
            new MsrEntry(LSTAR, 0),
            new MsrEntry(IA32_TSC, 0),
            new MsrEntry(IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING),
            new MsrEntry(MTRR_DEF_TYPE, MTRR_ENABLE | MTRR_MEM_TYPE_WB));

    private Msrs() {
    }
}
