package dev.sandbox.engine.vmm.snapshot;

import dev.sandbox.engine.vmm.devices.legacy.Serial8250;
import dev.sandbox.engine.vmm.devices.virtio.MmioTransport;
import dev.sandbox.engine.vmm.devices.virtio.Queue;
import dev.sandbox.engine.vmm.vstate.VcpuSnapshot;
import dev.sandbox.engine.vmm.vstate.VmSnapshot;
import dev.sandbox.engine.vmm.arch.CpuidEntry;
import dev.sandbox.ffi.kvm.DebugRegs;
import dev.sandbox.ffi.kvm.Fpu;
import dev.sandbox.ffi.kvm.Irqchip;
import dev.sandbox.ffi.kvm.KvmAbi;
import dev.sandbox.ffi.kvm.Lapic;
import dev.sandbox.ffi.kvm.Msr;
import dev.sandbox.ffi.kvm.PitState;
import dev.sandbox.ffi.kvm.Regs;
import dev.sandbox.ffi.kvm.Sregs;
import dev.sandbox.ffi.kvm.VcpuEvents;
import dev.sandbox.ffi.kvm.Xsave;
import dev.sandbox.engine.agent.AgentClient;
import dev.sandbox.engine.agent.AgentCodec;
import dev.sandbox.engine.vmm.devices.virtio.vsock.VirtioVsock;
import dev.sandbox.engine.vmm.devices.virtio.vsock.VsockState;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemoryLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whole microVM state to bytes and back, and hostile bytes refused as SnapshotFormatException only. */
public class SnapshotCodecTest {

    public static MicrovmSnapshot sample() {
        Random random = new Random(1);
        VmSnapshot vm = new VmSnapshot(List.of(new Irqchip(0, bytes(random, 512)), new Irqchip(1, bytes(random, 512)),
                new Irqchip(2, bytes(random, 512))), new PitState(bytes(random, KvmAbi.KVM_PIT_STATE2)), 123456789L);
        Regs regs = Regs.RESET.withRip(0xffffffff81000000L).withRsp(0x7000).withRax(42);
        Sregs sregs = Sregs.fromBytes(new byte[(int) KvmAbi.KVM_SREGS.byteSize()]).toBuilder().cr3(0x9000).build();
        List<CpuidEntry> cpuid = List.of(new CpuidEntry(0, 0, 0, 0xd, 1, 2, 3),
                new CpuidEntry(7, 0, CpuidEntry.FLAG_SIGNIFICANT_INDEX, 4, 5, 6, 7));
        VcpuSnapshot vcpu = new VcpuSnapshot(0, cpuid, 2_500_000, 0, regs, sregs, Fpu.of(0x37f, 0x1f80),
                new Xsave(bytes(random, KvmAbi.KVM_XSAVE)), null,
                new DebugRegs(bytes(random, KvmAbi.KVM_DEBUGREGS)), new Lapic(bytes(random, KvmAbi.KVM_LAPIC_STATE)),
                List.of(new Msr(0x10, 99), new Msr(0xc0000082, 0xffffffff81a00000L)),
                new VcpuEvents(bytes(random, KvmAbi.KVM_VCPU_EVENTS)));
        Serial8250.State serial = new Serial8250.State(1, 3, 8, 0, 12, 0, true, false, new byte[] {'a'});
        MmioTransport.State transport = new MmioTransport.State(0x0f, 1L << 32, 1, 1, 0, 1, 2, false,
                List.of(new Queue.State(256, true, 0x1000, 0x2000, 0x3000, 7, 7)));
        return new MicrovmSnapshot(128L << 20, new MemoryImage(Path.of("/data/.templates/t/memory"), 128L << 20,
                1700000000000L, "delta-ab12", 3, 0xdeadbeefL), vm, List.of(vcpu), serial,
                List.of(transport, transport), "console tail\n", null, null, null);
    }

    @Test
    void everyFieldComesBack() {
        MicrovmSnapshot s = sample();
        MicrovmSnapshot back = SnapshotCodec.decode(SnapshotCodec.encode(s));
        assertEquals(s.memoryBytes(), back.memoryBytes());
        assertEquals(s.memory(), back.memory());
        assertEquals(s.vm(), back.vm());
        VcpuSnapshot v = s.vcpus().getFirst();
        VcpuSnapshot w = back.vcpus().getFirst();
        assertEquals(v.cpuid(), w.cpuid());
        assertEquals(v.tscKhz(), w.tscKhz());
        assertEquals(v.xsave(), w.xsave());
        assertEquals(v.regs(), w.regs());
        assertArrayEquals(v.sregs().toBytes(), w.sregs().toBytes());
        assertArrayEquals(v.fpu().toBytes(), w.fpu().toBytes());
        assertEquals(v.lapic(), w.lapic());
        assertEquals(v.msrs(), w.msrs());
        assertEquals(v.events(), w.events());
        assertEquals(v.debugRegs(), w.debugRegs());
        assertArrayEquals(s.serial().rx(), back.serial().rx());
        assertEquals(s.transports(), back.transports());
        assertEquals(s.consoleTail(), back.consoleTail());
    }

    /** vsock (3 queues), rng (1) and net (2, RX and TX) as a VM with a NIC saves them, in slot order. */
    static MicrovmSnapshot withNic() {
        MicrovmSnapshot s = sample();
        List<MmioTransport.State> transports = List.of(transport(3, 0x10_0000), transport(1, 0x20_0000),
                transport(2, 0x30_0000));
        return new MicrovmSnapshot(s.memoryBytes(), s.memory(), s.vm(), s.vcpus(), s.serial(), transports,
                s.consoleTail(), null, null, null);
    }

    private static MmioTransport.State transport(int queues, long base) {
        List<Queue.State> states = new java.util.ArrayList<>();
        for (int i = 0; i < queues; i++) {
            long at = base + i * 0x1_0000L;
            states.add(new Queue.State(256, true, at, at + 0x1000, at + 0x2000, 3 + i, 3 + i));
        }
        return new MmioTransport.State(0x0f, 1L << 32 | 1L << 5 | 1L << 16, 1, 1, queues - 1, 0, 0, false, states);
    }

    @Test
    void aSnapshotWithANicKeepsItsThreeTransportsInSlotOrder() {
        MicrovmSnapshot s = withNic();
        MicrovmSnapshot back = SnapshotCodec.decode(SnapshotCodec.encode(s));
        assertEquals(3, back.transports().size());
        assertEquals(s.transports(), back.transports());
        assertEquals(List.of(3, 1, 2), back.transports().stream().map(t -> t.queues().size()).toList());
    }

    @Test
    void aSnapshotFromBeforeTheNicStillDecodes() {
        MicrovmSnapshot old = sample();
        assertEquals(2, old.transports().size());
        MicrovmSnapshot back = SnapshotCodec.decode(SnapshotCodec.encode(old));
        assertEquals(old.transports(), back.transports());
    }

    @Test
    void everyTruncationAndManyFlipsAreRefusedCleanly() {
        byte[] good = SnapshotCodec.encode(sample());
        for (byte[] whole : List.of(good, SnapshotCodec.encode(withNic()))) {
            for (int n = 0; n < whole.length; n += 7) {
                byte[] cut = Arrays.copyOf(whole, n);
                assertThrows(SnapshotFormatException.class, () -> SnapshotCodec.decode(cut), "cut at " + n);
            }
        }
        flipBits(good, 2);
    }

    /** A VM paused with its agent connection kept: the device's stream and the client's session. */
    static MicrovmSnapshot withKeptAgent() {
        MicrovmSnapshot s = withNic();
        VsockState.Stream stream = new VsockState.Stream(VirtioVsock.FIRST_HOST_PORT + 77, AgentCodec.VSOCK_PORT,
                1000, 262144, 990, 500, 497, 400, false, false, true, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
                new byte[] {9, 8, 7});
        return new MicrovmSnapshot(s.memoryBytes(), s.memory(), s.vm(), s.vcpus(), s.serial(), s.transports(),
                s.consoleTail(), null, new VsockState(VirtioVsock.FIRST_HOST_PORT + 78, List.of(stream)),
                new AgentClient.Session(AgentCodec.PROTOCOL_VERSION, "sandbox-agent 0.1.0", 1 << 20, 1, 42));
    }

    @Test
    void aKeptAgentConnectionComesBackWithEveryCounterAndByte() {
        MicrovmSnapshot s = withKeptAgent();
        MicrovmSnapshot back = SnapshotCodec.decode(SnapshotCodec.encode(s));
        assertEquals(s.agent(), back.agent());
        assertEquals(s.vsock().nextHostPort(), back.vsock().nextHostPort());
        VsockState.Stream a = s.vsock().streams().getFirst();
        VsockState.Stream b = back.vsock().streams().getFirst();
        assertEquals(List.of(a.hostPort(), a.guestPort(), a.acceptedCount(), a.peerBufAlloc(), a.peerFwdCount(),
                a.receivedCount(), a.forwardedCount(), a.advertisedFwdCount()), List.of(b.hostPort(), b.guestPort(),
                b.acceptedCount(), b.peerBufAlloc(), b.peerFwdCount(), b.receivedCount(), b.forwardedCount(),
                b.advertisedFwdCount()));
        assertEquals(a.creditUpdatePending(), b.creditUpdatePending());
        assertArrayEquals(a.toGuest(), b.toGuest());
        assertArrayEquals(a.fromGuest(), b.fromGuest());
        assertEquals(s.transports(), back.transports());
    }

    @Test
    void keptConnectionSectionsThatDoNotAddUpAreRefused() {
        MicrovmSnapshot s = withKeptAgent();
        MicrovmSnapshot agentOnly = new MicrovmSnapshot(s.memoryBytes(), s.memory(), s.vm(), s.vcpus(), s.serial(),
                s.transports(), s.consoleTail(), null, null, s.agent());
        SnapshotFormatException e = assertThrows(SnapshotFormatException.class,
                () -> SnapshotCodec.decode(SnapshotCodec.encode(agentOnly)));
        assertTrue(e.getMessage().contains("without the vsock connection"), e.getMessage());
        byte[] good = SnapshotCodec.encode(s);
        int sections = SnapshotCodec.encode(withNic()).length; // where the optional sections start
        byte[] twice = Arrays.copyOf(good, good.length + (good.length - sections));
        System.arraycopy(good, sections, twice, good.length, good.length - sections);
        assertThrows(SnapshotFormatException.class, () -> SnapshotCodec.decode(twice), "sections repeated");
        flipBits(good, 3);
    }

    /**
     * 3000 single-bit flips of {@code good}: each is refused with SnapshotFormatException or decodes (a flip in a
     * plain value may; the file checksum catches those), never another exception.
     */
    private static void flipBits(byte[] good, long seed) {
        Random random = new Random(seed);
        for (int i = 0; i < 3000; i++) {
            byte[] bad = good.clone();
            bad[random.nextInt(bad.length)] ^= (byte) (1 << random.nextInt(8));
            try {
                SnapshotCodec.decode(bad);
            } catch (SnapshotFormatException expected) {
                // refused: fine
            }
        }
    }

    private static byte[] bytes(Random random, int size) {
        byte[] b = new byte[size];
        random.nextBytes(b);
        return b;
    }

    private static byte[] bytes(Random random, MemoryLayout layout) {
        return bytes(random, (int) layout.byteSize());
    }
}
