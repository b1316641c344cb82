package dev.sandbox.ffi.kvm;

import static java.lang.foreign.MemoryLayout.paddingLayout;
import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.MemoryLayout.unionLayout;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.UnionLayout;
import java.lang.foreign.ValueLayout;

/**
 * Raw tier: the KVM ABI structs of {@code <linux/kvm.h>} (x86_64) as memory layouts, each under its C definition.
 * Every public layout's name is its C struct tag and every member is named as in C, so the ABI test prints
 * {@code sizeof}/{@code offsetof} for all of them from C. A member named {@code anon_*} stands for a C anonymous
 * union, whose members C addresses directly; the test leaves that name out of the C path.
 */
public final class KvmAbi {
    private KvmAbi() {}

    static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT;
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT;
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG;

    private static MemoryLayout u8s(int n, String name) {
        return sequenceLayout(n, U8).withName(name);
    }

    private static MemoryLayout u32s(int n, String name) {
        return sequenceLayout(n, U32).withName(name);
    }

    private static MemoryLayout u64s(int n, String name) {
        return sequenceLayout(n, U64).withName(name);
    }

    /*
     * struct kvm_userspace_memory_region {
     *     __u32 slot;
     *     __u32 flags;
     *     __u64 guest_phys_addr;
     *     __u64 memory_size; // bytes
     *     __u64 userspace_addr; // start of the userspace allocated memory
     * };
     */
    public static final StructLayout KVM_USERSPACE_MEMORY_REGION = structLayout(
            U32.withName("slot"), U32.withName("flags"), U64.withName("guest_phys_addr"),
            U64.withName("memory_size"), U64.withName("userspace_addr")).withName("kvm_userspace_memory_region");

    /*
     * struct kvm_regs {
     *     __u64 rax, rbx, rcx, rdx;
     *     __u64 rsi, rdi, rsp, rbp;
     *     __u64 r8,  r9,  r10, r11;
     *     __u64 r12, r13, r14, r15;
     *     __u64 rip, rflags;
     * };
     */
    public static final StructLayout KVM_REGS = structLayout(
            U64.withName("rax"), U64.withName("rbx"), U64.withName("rcx"), U64.withName("rdx"),
            U64.withName("rsi"), U64.withName("rdi"), U64.withName("rsp"), U64.withName("rbp"),
            U64.withName("r8"), U64.withName("r9"), U64.withName("r10"), U64.withName("r11"),
            U64.withName("r12"), U64.withName("r13"), U64.withName("r14"), U64.withName("r15"),
            U64.withName("rip"), U64.withName("rflags")).withName("kvm_regs");

    /*
     * struct kvm_segment {
     *     __u64 base;
     *     __u32 limit;
     *     __u16 selector;
     *     __u8  type;
     *     __u8  present, dpl, db, s, l, g, avl;
     *     __u8  unusable;
     *     __u8  padding;
     * };
     */
    public static final StructLayout KVM_SEGMENT = structLayout(
            U64.withName("base"), U32.withName("limit"), U16.withName("selector"), U8.withName("type"),
            U8.withName("present"), U8.withName("dpl"), U8.withName("db"), U8.withName("s"), U8.withName("l"),
            U8.withName("g"), U8.withName("avl"), U8.withName("unusable"), U8.withName("padding"))
            .withName("kvm_segment");

    /*
     * struct kvm_dtable {
     *     __u64 base;
     *     __u16 limit;
     *     __u16 padding[3];
     * };
     */
    public static final StructLayout KVM_DTABLE = structLayout(
            U64.withName("base"), U16.withName("limit"), sequenceLayout(3, U16).withName("padding"))
            .withName("kvm_dtable");

    /*
     * struct kvm_sregs {
     *     struct kvm_segment cs, ds, es, fs, gs, ss;
     *     struct kvm_segment tr, ldt;
     *     struct kvm_dtable gdt, idt;
     *     __u64 cr0, cr2, cr3, cr4, cr8;
     *     __u64 efer;
     *     __u64 apic_base;
     *     __u64 interrupt_bitmap[(KVM_NR_INTERRUPTS + 63) / 64];
     * };
     */
    public static final StructLayout KVM_SREGS = structLayout(
            KVM_SEGMENT.withName("cs"), KVM_SEGMENT.withName("ds"), KVM_SEGMENT.withName("es"),
            KVM_SEGMENT.withName("fs"), KVM_SEGMENT.withName("gs"), KVM_SEGMENT.withName("ss"),
            KVM_SEGMENT.withName("tr"), KVM_SEGMENT.withName("ldt"),
            KVM_DTABLE.withName("gdt"), KVM_DTABLE.withName("idt"),
            U64.withName("cr0"), U64.withName("cr2"), U64.withName("cr3"), U64.withName("cr4"), U64.withName("cr8"),
            U64.withName("efer"), U64.withName("apic_base"),
            u64s((KvmConstants.KVM_NR_INTERRUPTS + 63) / 64, "interrupt_bitmap")).withName("kvm_sregs");

    /*
     * struct kvm_fpu {
     *     __u8  fpr[8][16];
     *     __u16 fcw;
     *     __u16 fsw;
     *     __u8  ftwx;  // in fxsave format
     *     __u8  pad1;
     *     __u16 last_opcode;
     *     __u64 last_ip;
     *     __u64 last_dp;
     *     __u8  xmm[16][16];
     *     __u32 mxcsr;
     *     __u32 pad2;
     * };
     */
    public static final StructLayout KVM_FPU = structLayout(
            sequenceLayout(8, sequenceLayout(16, U8)).withName("fpr"), U16.withName("fcw"), U16.withName("fsw"),
            U8.withName("ftwx"), U8.withName("pad1"), U16.withName("last_opcode"), U64.withName("last_ip"),
            U64.withName("last_dp"), sequenceLayout(16, sequenceLayout(16, U8)).withName("xmm"),
            U32.withName("mxcsr"), U32.withName("pad2")).withName("kvm_fpu");

    /*
     * struct kvm_xsave {
     *     __u32 region[1024];
     *     __u32 extra[0];  // only with KVM_GET_XSAVE2
     * };
     */
    public static final StructLayout KVM_XSAVE = structLayout(u32s(1024, "region"), u32s(0, "extra"))
            .withName("kvm_xsave");

    /*
     * struct kvm_xcr {
     *     __u32 xcr;
     *     __u32 reserved;
     *     __u64 value;
     * };
     */
    public static final StructLayout KVM_XCR = structLayout(
            U32.withName("xcr"), U32.withName("reserved"), U64.withName("value")).withName("kvm_xcr");

    /*
     * struct kvm_xcrs {
     *     __u32 nr_xcrs;
     *     __u32 flags;
     *     struct kvm_xcr xcrs[KVM_MAX_XCRS];
     *     __u64 padding[16];
     * };
     */
    public static final StructLayout KVM_XCRS = structLayout(
            U32.withName("nr_xcrs"), U32.withName("flags"),
            sequenceLayout(KvmConstants.KVM_MAX_XCRS, KVM_XCR).withName("xcrs"), u64s(16, "padding"))
            .withName("kvm_xcrs");

    /*
     * struct kvm_msr_entry {
     *     __u32 index;
     *     __u32 reserved;
     *     __u64 data;
     * };
     */
    public static final StructLayout KVM_MSR_ENTRY = structLayout(
            U32.withName("index"), U32.withName("reserved"), U64.withName("data")).withName("kvm_msr_entry");

    /*
     * struct kvm_msrs {
     *     __u32 nmsrs; // number of msrs in entries
     *     __u32 pad;
     *     struct kvm_msr_entry entries[0];
     * };
     */
    public static final StructLayout KVM_MSRS = structLayout(
            U32.withName("nmsrs"), U32.withName("pad"), sequenceLayout(0, KVM_MSR_ENTRY).withName("entries"))
            .withName("kvm_msrs");

    /*
     * struct kvm_msr_list {
     *     __u32 nmsrs; // number of msrs in entries
     *     __u32 indices[0];
     * };
     */
    public static final StructLayout KVM_MSR_LIST = structLayout(U32.withName("nmsrs"), u32s(0, "indices"))
            .withName("kvm_msr_list");

    /*
     * struct kvm_cpuid_entry2 {
     *     __u32 function;
     *     __u32 index;
     *     __u32 flags;
     *     __u32 eax;
     *     __u32 ebx;
     *     __u32 ecx;
     *     __u32 edx;
     *     __u32 padding[3];
     * };
     */
    public static final StructLayout KVM_CPUID_ENTRY2 = structLayout(
            U32.withName("function"), U32.withName("index"), U32.withName("flags"), U32.withName("eax"),
            U32.withName("ebx"), U32.withName("ecx"), U32.withName("edx"), u32s(3, "padding"))
            .withName("kvm_cpuid_entry2");

    /*
     * struct kvm_cpuid2 {
     *     __u32 nent;
     *     __u32 padding;
     *     struct kvm_cpuid_entry2 entries[0];
     * };
     */
    public static final StructLayout KVM_CPUID2 = structLayout(
            U32.withName("nent"), U32.withName("padding"), sequenceLayout(0, KVM_CPUID_ENTRY2).withName("entries"))
            .withName("kvm_cpuid2");

    /*
     * struct kvm_lapic_state {
     *     char regs[KVM_APIC_REG_SIZE];
     * };
     */
    public static final StructLayout KVM_LAPIC_STATE = structLayout(u8s(KvmConstants.KVM_APIC_REG_SIZE, "regs"))
            .withName("kvm_lapic_state");

    /*
     * struct kvm_irqchip {
     *     __u32 chip_id;
     *     __u32 pad;
     *     union {
     *         char dummy[512];  // reserving space
     *         struct kvm_pic_state pic;
     *         struct kvm_ioapic_state ioapic;
     *     } chip;
     * };
     * Kept opaque: only dummy, the union's full size, is declared.
     */
    public static final StructLayout KVM_IRQCHIP = structLayout(
            U32.withName("chip_id"), U32.withName("pad"), unionLayout(u8s(512, "dummy")).withName("chip"))
            .withName("kvm_irqchip");

    /*
     * struct kvm_pit_channel_state {
     *     __u32 count; // can be 65536
     *     __u16 latched_count;
     *     __u8 count_latched;
     *     __u8 status_latched;
     *     __u8 status;
     *     __u8 read_state;
     *     __u8 write_state;
     *     __u8 write_latch;
     *     __u8 rw_mode;
     *     __u8 mode;
     *     __u8 bcd;
     *     __u8 gate;
     *     __s64 count_load_time;
     * };
     */
    public static final StructLayout KVM_PIT_CHANNEL_STATE = structLayout(
            U32.withName("count"), U16.withName("latched_count"), U8.withName("count_latched"),
            U8.withName("status_latched"), U8.withName("status"), U8.withName("read_state"),
            U8.withName("write_state"), U8.withName("write_latch"), U8.withName("rw_mode"), U8.withName("mode"),
            U8.withName("bcd"), U8.withName("gate"), U64.withName("count_load_time"))
            .withName("kvm_pit_channel_state");

    /*
     * struct kvm_pit_state2 {
     *     struct kvm_pit_channel_state channels[3];
     *     __u32 flags;
     *     __u32 reserved[9];
     * };
     */
    public static final StructLayout KVM_PIT_STATE2 = structLayout(
            sequenceLayout(3, KVM_PIT_CHANNEL_STATE).withName("channels"), U32.withName("flags"),
            u32s(9, "reserved")).withName("kvm_pit_state2");

    /*
     * struct kvm_pit_config {
     *     __u32 flags;
     *     __u32 pad[15];
     * };
     */
    public static final StructLayout KVM_PIT_CONFIG = structLayout(U32.withName("flags"), u32s(15, "pad"))
            .withName("kvm_pit_config");

    /*
     * struct kvm_clock_data {
     *     __u64 clock;
     *     __u32 flags;
     *     __u32 pad0;
     *     __u64 realtime;
     *     __u64 host_tsc;
     *     __u32 pad[4];
     * };
     */
    public static final StructLayout KVM_CLOCK_DATA = structLayout(
            U64.withName("clock"), U32.withName("flags"), U32.withName("pad0"), U64.withName("realtime"),
            U64.withName("host_tsc"), u32s(4, "pad")).withName("kvm_clock_data");

    /*
     * struct kvm_mp_state {
     *     __u32 mp_state;
     * };
     */
    public static final StructLayout KVM_MP_STATE = structLayout(U32.withName("mp_state")).withName("kvm_mp_state");

    /*
     * struct kvm_vcpu_events {
     *     struct { __u8 injected; __u8 nr; __u8 has_error_code; __u8 pending; __u32 error_code; } exception;
     *     struct { __u8 injected; __u8 nr; __u8 soft; __u8 shadow; } interrupt;
     *     struct { __u8 injected; __u8 pending; __u8 masked; __u8 pad; } nmi;
     *     __u32 sipi_vector;
     *     __u32 flags;
     *     struct { __u8 smm; __u8 pending; __u8 smm_inside_nmi; __u8 latched_init; } smi;
     *     struct { __u8 pending; } triple_fault;
     *     __u8 reserved[26];
     *     __u8 exception_has_payload;
     *     __u64 exception_payload;
     * };
     */
    public static final StructLayout KVM_VCPU_EVENTS = structLayout(
            structLayout(U8.withName("injected"), U8.withName("nr"), U8.withName("has_error_code"),
                    U8.withName("pending"), U32.withName("error_code")).withName("exception"),
            structLayout(U8.withName("injected"), U8.withName("nr"), U8.withName("soft"), U8.withName("shadow"))
                    .withName("interrupt"),
            structLayout(U8.withName("injected"), U8.withName("pending"), U8.withName("masked"), U8.withName("pad"))
                    .withName("nmi"),
            U32.withName("sipi_vector"), U32.withName("flags"),
            structLayout(U8.withName("smm"), U8.withName("pending"), U8.withName("smm_inside_nmi"),
                    U8.withName("latched_init")).withName("smi"),
            structLayout(U8.withName("pending")).withName("triple_fault"),
            u8s(26, "reserved"), U8.withName("exception_has_payload"), U64.withName("exception_payload"))
            .withName("kvm_vcpu_events");

    /*
     * struct kvm_debugregs {
     *     __u64 db[4];
     *     __u64 dr6;
     *     __u64 dr7;
     *     __u64 flags;
     *     __u64 reserved[9];
     * };
     */
    public static final StructLayout KVM_DEBUGREGS = structLayout(
            u64s(4, "db"), U64.withName("dr6"), U64.withName("dr7"), U64.withName("flags"), u64s(9, "reserved"))
            .withName("kvm_debugregs");

    /*
     * struct kvm_irqfd {
     *     __u32 fd;
     *     __u32 gsi;
     *     __u32 flags;
     *     __u32 resamplefd;
     *     __u8  pad[16];
     * };
     */
    public static final StructLayout KVM_IRQFD = structLayout(
            U32.withName("fd"), U32.withName("gsi"), U32.withName("flags"), U32.withName("resamplefd"),
            u8s(16, "pad")).withName("kvm_irqfd");

    /*
     * struct kvm_ioeventfd {
     *     __u64 datamatch;
     *     __u64 addr;        // legal pio/mmio address
     *     __u32 len;         // 1, 2, 4, or 8 bytes; or 0 to ignore length
     *     __s32 fd;
     *     __u32 flags;
     *     __u8  pad[36];
     * };
     */
    public static final StructLayout KVM_IOEVENTFD = structLayout(
            U64.withName("datamatch"), U64.withName("addr"), U32.withName("len"), U32.withName("fd"),
            U32.withName("flags"), u8s(36, "pad")).withName("kvm_ioeventfd");

    /*
     * struct kvm_irq_level {
     *     union {
     *         __u32 irq;
     *         __s32 status;
     *     };
     *     __u32 level;
     * };
     */
    public static final StructLayout KVM_IRQ_LEVEL = structLayout(
            unionLayout(U32.withName("irq"), U32.withName("status")).withName("anon_irq"), U32.withName("level"))
            .withName("kvm_irq_level");

    /*
     * struct kvm_dirty_log {
     *     __u32 slot;
     *     __u32 padding1;
     *     union {
     *         void __user *dirty_bitmap; // one bit per page
     *         __u64 padding2;
     *     };
     * };
     */
    public static final StructLayout KVM_DIRTY_LOG = structLayout(
            U32.withName("slot"), U32.withName("padding1"),
            unionLayout(ValueLayout.ADDRESS.withName("dirty_bitmap"), U64.withName("padding2"))
                    .withName("anon_bitmap")).withName("kvm_dirty_log");

    /*
     * struct kvm_signal_mask {
     *     __u32 len;
     *     __u8  sigset[0];
     * };
     */
    public static final StructLayout KVM_SIGNAL_MASK = structLayout(U32.withName("len"), u8s(0, "sigset"))
            .withName("kvm_signal_mask");

    /*
     * The exits of the kvm_run union that we decode (see KVM_RUN below):
     *
     *     struct { __u64 hardware_exit_reason; } hw;                          // KVM_EXIT_UNKNOWN
     *     struct { __u64 hardware_entry_failure_reason; __u32 cpu; } fail_entry;  // KVM_EXIT_FAIL_ENTRY
     *     struct { __u8 direction; __u8 size; __u16 port; __u32 count;
     *              __u64 data_offset; } io;                                // KVM_EXIT_IO; data relative to kvm_run
     *     struct { __u64 phys_addr; __u8 data[8]; __u32 len; __u8 is_write; } mmio;  // KVM_EXIT_MMIO
     *     struct { __u32 suberror; __u32 ndata; __u64 data[16]; } internal;  // KVM_EXIT_INTERNAL_ERROR
     *     struct { __u32 type; __u32 ndata;
     *              union { __u64 flags; __u64 data[16]; }; } system_event;  // KVM_EXIT_SYSTEM_EVENT
     *     char padding[256];                                               // the union's size
     */
    static final UnionLayout EXIT_UNION = unionLayout(
            structLayout(U64.withName("hardware_exit_reason")).withName("hw"),
            structLayout(U64.withName("hardware_entry_failure_reason"), U32.withName("cpu"), paddingLayout(4))
                    .withName("fail_entry"),
            structLayout(U8.withName("direction"), U8.withName("size"), U16.withName("port"), U32.withName("count"),
                    U64.withName("data_offset")).withName("io"),
            structLayout(U64.withName("phys_addr"), u8s(8, "data"), U32.withName("len"), U8.withName("is_write"),
                    paddingLayout(3)).withName("mmio"),
            structLayout(U32.withName("suberror"), U32.withName("ndata"), u64s(16, "data")).withName("internal"),
            structLayout(U32.withName("type"), U32.withName("ndata"),
                    unionLayout(U64.withName("flags"), u64s(16, "data")).withName("anon_flags"))
                    .withName("system_event"),
            u8s(256, "padding")).withName("anon_exit");

    /*
     * struct kvm_run {
     *     // in
     *     __u8 request_interrupt_window;
     *     __u8 immediate_exit;
     *     __u8 padding1[6];
     *     // out
     *     __u32 exit_reason;
     *     __u8 ready_for_interrupt_injection;
     *     __u8 if_flag;
     *     __u16 flags;
     *     // in (pre_kvm_run), out (post_kvm_run)
     *     __u64 cr8;
     *     __u64 apic_base;
     *     union { ...exits above...; char padding[256]; };
     *     __u64 kvm_valid_regs;
     *     __u64 kvm_dirty_regs;
     *     union { struct kvm_sync_regs regs; char padding[SYNC_REGS_SIZE_BYTES]; } s;
     * };
     */
    public static final StructLayout KVM_RUN = structLayout(
            U8.withName("request_interrupt_window"), U8.withName("immediate_exit"), u8s(6, "padding1"),
            U32.withName("exit_reason"), U8.withName("ready_for_interrupt_injection"), U8.withName("if_flag"),
            U16.withName("flags"), U64.withName("cr8"), U64.withName("apic_base"), EXIT_UNION,
            U64.withName("kvm_valid_regs"), U64.withName("kvm_dirty_regs"), u8s(2048, "s")).withName("kvm_run");
}
