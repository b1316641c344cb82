package dev.sandbox.ffi.kvm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sandbox.ffi.Errno;
import dev.sandbox.ffi.EventFd;
import dev.sandbox.ffi.Mapping;
import dev.sandbox.ffi.NativeException;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Runs tiny guests on real KVM (inside tools/kvmhost on machines without /dev/kvm). */
@Tag("kvm")
class KvmTest {
    private static final long MEM_SIZE = 2 << 20;
    private static final long GDT = 0x500;
    private static final long PML4 = 0x1000;
    private static final long PDPT = 0x2000;
    private static final long PD = 0x3000;
    private static final long CODE = 0x8000;
    private static final long TSS_ADDR = 0xfffb_d000L;

    @BeforeAll
    static void needsKvm() {
        assumeTrue(Kvm.isPresent(), "no /dev/kvm");
    }

    @Test
    void systemQueries() {
        try (Kvm kvm = Kvm.open()) {
            assertEquals(KvmConstants.KVM_API_VERSION, kvm.apiVersion());
            for (int cap : new int[] {KvmConstants.KVM_CAP_IRQCHIP, KvmConstants.KVM_CAP_USER_MEMORY,
                    KvmConstants.KVM_CAP_IRQFD, KvmConstants.KVM_CAP_IOEVENTFD, KvmConstants.KVM_CAP_PIT2,
                    KvmConstants.KVM_CAP_IMMEDIATE_EXIT}) {
                assertTrue(kvm.hasExtension(cap), "capability " + cap);
            }
            assertTrue(kvm.vcpuMmapSize() >= KvmAbi.KVM_RUN.byteSize());
            List<CpuidEntry> cpuid = kvm.supportedCpuid();
            assertTrue(cpuid.stream().anyMatch(e -> e.function() == 0), "leaf 0 in " + cpuid.size() + " leaves");
            int[] msrs = kvm.msrIndexList();
            assertTrue(Arrays.stream(msrs).anyMatch(i -> i == 0x10), "IA32_TSC among " + msrs.length + " MSRs");
        }
    }

    @Test
    void realModeGuestWritesAPortAndHalts() {
        try (Kvm kvm = Kvm.open(); VmFd vm = kvm.createVm(); Mapping mem = Mapping.anonymous(MEM_SIZE, false)) {
            vm.setTssAddr(TSS_ADDR);
            vm.setUserMemoryRegion(0, 0, 0, mem);
            // mov dx, 0x3f8; mov al, 'R'; out dx, al; hlt
            put(mem, 0x1000, 0xba, 0xf8, 0x03, 0xb0, 'R', 0xee, 0xf4);
            try (VcpuFd vcpu = vm.createVcpu(0)) {
                Sregs s = vcpu.getSregs();
                Segment cs = s.cs();
                vcpu.setSregs(s.toBuilder().cs(new Segment(0, cs.limit(), 0, cs.type(), cs.present(), cs.dpl(),
                        cs.db(), cs.s(), cs.l(), cs.g(), cs.avl(), cs.unusable())).build());
                vcpu.setRegs(Regs.RESET.withRip(0x1000));
                VcpuExit.Io out = assertInstanceOf(VcpuExit.Io.class, vcpu.run());
                assertEquals(new IoSeen(0x3f8, VcpuExit.Direction.OUT, 1, 1, 'R'), IoSeen.of(out));
                assertInstanceOf(VcpuExit.Hlt.class, vcpu.run());
            }
        }
    }

    @Test
    void longModeGuestDoesPortIoMmioAndHalts() {
        try (Kvm kvm = Kvm.open(); VmFd vm = kvm.createVm(); Mapping mem = Mapping.anonymous(MEM_SIZE, false)) {
            vm.setTssAddr(TSS_ADDR);
            vm.setUserMemoryRegion(0, KvmConstants.KVM_MEM_LOG_DIRTY_PAGES, 0, mem);
            put(mem, CODE,
                    0x66, 0xba, 0xf8, 0x03,                     // mov dx, 0x3f8
                    0xb0, 'A',                                  // mov al, 'A'
                    0xee,                                       // out dx, al
                    0xec,                                       // in al, dx
                    0x66, 0xba, 0xf9, 0x03,                     // mov dx, 0x3f9
                    0xee,                                       // out dx, al
                    0xb8, 0x78, 0x56, 0x34, 0x12,               // mov eax, 0x12345678
                    0x89, 0x04, 0x25, 0x00, 0x00, 0x00, 0x01,   // mov [0x1000000], eax  (no memory there: MMIO)
                    0x8b, 0x04, 0x25, 0x08, 0x00, 0x00, 0x01,   // mov eax, [0x1000008]
                    0xef,                                       // out dx, eax
                    0x89, 0x04, 0x25, 0x00, 0x00, 0x10, 0x00,   // mov [0x100000], eax   (dirties page 0x100)
                    0xf4);                                      // hlt
            try (VcpuFd vcpu = vm.createVcpu(0)) {
                enterLongMode(mem, vcpu, kvm);
                assertEquals(new IoSeen(0x3f8, VcpuExit.Direction.OUT, 1, 1, 'A'), IoSeen.of(vcpu.run()));
                VcpuExit.Io in = assertInstanceOf(VcpuExit.Io.class, vcpu.run());
                assertEquals(new IoSeen(0x3f8, VcpuExit.Direction.IN, 1, 1, 0), IoSeen.of(in));
                in.setValue(0x5a);
                assertEquals(new IoSeen(0x3f9, VcpuExit.Direction.OUT, 1, 1, 0x5a), IoSeen.of(vcpu.run()));
                VcpuExit.Mmio write = assertInstanceOf(VcpuExit.Mmio.class, vcpu.run());
                assertEquals(0x100_0000L, write.address());
                assertTrue(write.isWrite());
                assertEquals(4, write.length());
                assertEquals(0x12345678L, write.value());
                VcpuExit.Mmio read = assertInstanceOf(VcpuExit.Mmio.class, vcpu.run());
                assertEquals(0x100_0008L, read.address());
                assertFalse(read.isWrite());
                read.setValue(0xcafef00dL);
                assertEquals(new IoSeen(0x3f9, VcpuExit.Direction.OUT, 4, 1, 0xcafef00dL), IoSeen.of(vcpu.run()));
                assertInstanceOf(VcpuExit.Hlt.class, vcpu.run());
                Regs regs = vcpu.getRegs();
                assertEquals(0xcafef00dL, regs.rax());
                assertEquals(CODE + 41, regs.rip()); // just past the hlt
                assertEquals(0xcafef00dL, mem.segment().get(java.lang.foreign.ValueLayout.JAVA_INT, 0x100000)
                        & 0xffffffffL);
            }
            long[] dirty = vm.getDirtyLog(0, MEM_SIZE);
            assertEquals(MEM_SIZE / 4096 / 64, dirty.length);
            assertTrue((dirty[0x100 / 64] & 1L) != 0, "page 0x100 dirty");
            assertEquals(0, dirty[0x180 / 64], "pages 0x180.. untouched");
        }
    }

    /** Another thread kicks a vCPU spinning in {@code jmp $} out of KVM_RUN, several times. */
    @Test
    void kickGetsASpinningVcpuOutOfKvmRun() throws Exception {
        int rounds = 5;
        try (Kvm kvm = Kvm.open(); VmFd vm = kvm.createVm(); Mapping mem = Mapping.anonymous(MEM_SIZE, false)) {
            vm.setTssAddr(TSS_ADDR);
            vm.setUserMemoryRegion(0, 0, 0, mem);
            put(mem, CODE, 0xeb, 0xfe); // jmp $
            try (VcpuFd vcpu = vm.createVcpu(0)) {
                enterLongMode(mem, vcpu, kvm);
                SynchronousQueue<VcpuKicker> entering = new SynchronousQueue<>();
                SynchronousQueue<Object> exits = new SynchronousQueue<>();
                CompletableFuture<Void> done = new CompletableFuture<>();
                Thread vcpuThread = Thread.ofPlatform().daemon().name("vcpu-0").start(() -> {
                    try (VcpuKicker kicker = VcpuKicker.install(vcpu)) {
                        // A kick before the run: immediate_exit alone makes KVM_RUN return at once.
                        kicker.kick();
                        assertInstanceOf(VcpuExit.Intr.class, vcpu.run());
                        kicker.acknowledge();
                        for (int i = 0; i < rounds; i++) {
                            entering.put(kicker);
                            VcpuExit exit = vcpu.run();
                            long at = System.nanoTime();
                            kicker.acknowledge();
                            exits.put(new Object[] {exit, at});
                        }
                        done.complete(null);
                    } catch (Throwable t) {
                        done.completeExceptionally(t);
                        exits.offer(t);
                    }
                });
                long[] micros = new long[rounds];
                for (int i = 0; i < rounds; i++) {
                    VcpuKicker kicker = entering.poll(30, TimeUnit.SECONDS);
                    assertNotNull(kicker, "vCPU thread never got to run: " + done);
                    Thread.sleep(100); // let the guest spin
                    long sent = System.nanoTime();
                    assertTrue(kicker.kick());
                    Object got = exits.poll(10, TimeUnit.SECONDS);
                    assertNotNull(got, "vCPU not out of KVM_RUN 10 s after the kick");
                    if (got instanceof Throwable t) {
                        throw new AssertionError("vCPU thread failed", t);
                    }
                    Object[] exitAndTime = (Object[]) got;
                    assertInstanceOf(VcpuExit.Intr.class, exitAndTime[0]);
                    micros[i] = ((long) exitAndTime[1] - sent) / 1000;
                }
                done.get(10, TimeUnit.SECONDS);
                vcpuThread.join(10_000);
                Arrays.sort(micros);
                System.out.printf("KVM_RUN kick latency, %d rounds: min %d us, median %d us, max %d us%n", rounds,
                        micros[0], micros[rounds / 2], micros[rounds - 1]);
                // The guest really was running between kicks: rip is still on the jmp.
                assertEquals(CODE, vcpu.getRegs().rip());
            }
        }
    }

    @Test
    void vmAndVcpuStateRoundTrips() {
        try (Kvm kvm = Kvm.open(); VmFd vm = kvm.createVm(); Mapping mem = Mapping.anonymous(MEM_SIZE, false)) {
            vm.setTssAddr(TSS_ADDR);
            vm.setIdentityMapAddr(0xfffbc000L);
            vm.createIrqchip();
            vm.createPit2(KvmConstants.KVM_PIT_SPEAKER_DUMMY);
            vm.setUserMemoryRegion(0, 0, 0, mem);
            NativeException misaligned = assertThrows(NativeException.class,
                    () -> vm.setUserMemoryRegion(1, 0, 0x40_0123, mem));
            assertTrue(misaligned.is(Errno.EINVAL), misaligned.getMessage());
            assertTrue(misaligned.getMessage().startsWith("ioctl KVM_SET_USER_MEMORY_REGION: EINVAL"));

            try (VcpuFd vcpu = vm.createVcpu(0)) {
                vcpu.setCpuid2(kvm.supportedCpuid());

                Regs regs = Regs.RESET.withRip(0x1234).withRsp(0x8000).withRsi(0x7000);
                vcpu.setRegs(regs);
                assertEquals(regs, vcpu.getRegs());

                Sregs sregs = vcpu.getSregs();
                vcpu.setSregs(sregs.toBuilder().cr3(0x5000).build());
                assertEquals(sregs.toBuilder().cr3(0x5000).build(), vcpu.getSregs());

                vcpu.setFpu(Fpu.of(0x37f, 0x1f80));
                Fpu fpu = vcpu.getFpu();
                assertEquals(0x37f, fpu.fcw()); // mxcsr is not compared: KVM_SET_FPU ignores it (6.1)

                Lapic lapic = vcpu.getLapic();
                vcpu.setLapic(lapic.withRegister(0x350, 0x700));
                assertEquals(0x700, vcpu.getLapic().register(0x350) & 0x700);

                vcpu.setXsave(vcpu.getXsave());
                // Without XSAVE (the nested host runs -cpu max,xsave=off) KVM keeps no XCRs and refuses to set them.
                boolean xsave = kvm.supportedCpuid().stream()
                        .anyMatch(e -> e.function() == 1 && (e.ecx() & (1 << 26)) != 0);
                if (xsave) {
                    vcpu.setXcrs(vcpu.getXcrs());
                } else {
                    assertThrows(NativeException.class, () -> vcpu.setXcrs(vcpu.getXcrs()));
                }
                vcpu.setVcpuEvents(vcpu.getVcpuEvents());
                vcpu.setDebugRegs(vcpu.getDebugRegs());
                assertEquals(KvmConstants.KVM_MP_STATE_RUNNABLE, vcpu.getMpState());
                vcpu.setMpState(KvmConstants.KVM_MP_STATE_RUNNABLE);

                vcpu.setMsrs(List.of(new Msr(0x174, 0x10))); // IA32_SYSENTER_CS
                assertEquals(List.of(new Msr(0x174, 0x10)), vcpu.getMsrs(0x174));
                assertTrue(vcpu.getTscKhz() > 0);

                byte[] before = vcpu.getXsave().bytes();
                vcpu.setXsave(new Xsave(before));
                assertArrayEquals(before, vcpu.getXsave().bytes());
            }

            for (int chip = 0; chip < 3; chip++) {
                Irqchip state = vm.getIrqchip(chip);
                vm.setIrqchip(state);
                assertEquals(state, vm.getIrqchip(chip));
            }
            PitState pit = vm.getPit2();
            vm.setPit2(pit);

            vm.setClock(new ClockData(5_000_000_000L, 0, 0, 0));
            assertTrue(vm.getClock().clock() >= 5_000_000_000L);

            try (EventFd irq = EventFd.create(true); EventFd notify = EventFd.create(true)) {
                vm.irqfd(irq, 5);
                vm.removeIrqfd(irq, 5);
                vm.ioeventfd(notify, 0xd000_0050L, 4, false, OptionalLong.of(7));
                vm.removeIoeventfd(notify, 0xd000_0050L, 4, false, OptionalLong.of(7));
                vm.ioeventfd(notify, 0x510, 2, true, OptionalLong.empty());
            }
            vm.irqLine(4, true);
            vm.irqLine(4, false);
        }
    }

    /** An I/O exit reduced to comparable values. */
    private record IoSeen(int port, VcpuExit.Direction direction, int size, int count, long value) {
        static IoSeen of(VcpuExit exit) {
            VcpuExit.Io io = assertInstanceOf(VcpuExit.Io.class, exit);
            return new IoSeen(io.port(), io.direction(), io.size(), io.count(), io.value());
        }
    }

    private static void put(Mapping mem, long at, int... bytes) {
        for (int i = 0; i < bytes.length; i++) {
            mem.segment().set(JAVA_BYTE, at + i, (byte) bytes[i]);
        }
    }

    /** Identity-maps the first GiB with 2 MiB pages and puts the vCPU in 64-bit mode at {@link #CODE}. */
    private static void enterLongMode(Mapping mem, VcpuFd vcpu, Kvm kvm) {
        MemorySegment m = mem.segment();
        m.set(JAVA_LONG, GDT, 0);
        m.set(JAVA_LONG, GDT + 8, 0x00af_9b00_0000_ffffL);  // 64-bit code, selector 0x8
        m.set(JAVA_LONG, GDT + 16, 0x00cf_9300_0000_ffffL); // data, selector 0x10
        m.set(JAVA_LONG, PML4, PDPT | 3);
        m.set(JAVA_LONG, PDPT, PD | 3);
        for (long i = 0; i < 512; i++) {
            m.set(JAVA_LONG, PD + i * 8, (i << 21) | 0x83); // present, writable, 2 MiB page
        }
        vcpu.setCpuid2(kvm.supportedCpuid());
        Segment code = new Segment(0, 0xffff_ffff, 0x8, 11, true, 0, false, true, true, true, false, false);
        Segment data = new Segment(0, 0xffff_ffff, 0x10, 3, true, 0, true, true, false, true, false, false);
        vcpu.setSregs(vcpu.getSregs().toBuilder()
                .cs(code).dataSegments(data).gdt(new DTable(GDT, 23))
                .cr3(PML4).cr4(1 << 5)                        // PAE
                .cr0(0x8001_0033L)                            // PG, WP, NE, ET, MP, PE
                .efer(0x500)                                  // LMA, LME
                .build());
        vcpu.setRegs(Regs.RESET.withRip(CODE).withRsp(0x7000));
    }
}
