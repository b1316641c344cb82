package dev.sandbox.engine.vmm.snapshot;

import dev.sandbox.engine.vmm.arch.CpuidEntry;
import dev.sandbox.engine.vmm.devices.legacy.Serial8250;
import dev.sandbox.engine.vmm.devices.virtio.MmioTransport;
import dev.sandbox.engine.vmm.devices.virtio.Queue;
import dev.sandbox.engine.vmm.devices.virtio.blk.DiskState;
import dev.sandbox.engine.vmm.devices.virtio.blk.DiskStateCodec;
import dev.sandbox.engine.agent.AgentClient;
import dev.sandbox.engine.vmm.devices.virtio.vsock.VsockState;
import dev.sandbox.engine.vmm.devices.virtio.vsock.VsockStateCodec;
import dev.sandbox.engine.vmm.vstate.VcpuSnapshot;
import dev.sandbox.engine.vmm.vstate.VmSnapshot;
import dev.sandbox.ffi.kvm.DebugRegs;
import dev.sandbox.ffi.kvm.Fpu;
import dev.sandbox.ffi.kvm.Irqchip;
import dev.sandbox.ffi.kvm.Lapic;
import dev.sandbox.ffi.kvm.Msr;
import dev.sandbox.ffi.kvm.PitState;
import dev.sandbox.ffi.kvm.Regs;
import dev.sandbox.ffi.kvm.Sregs;
import dev.sandbox.ffi.kvm.VcpuEvents;
import dev.sandbox.ffi.kvm.Xcrs;
import dev.sandbox.ffi.kvm.Xsave;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * {@link MicrovmSnapshot} to bytes and back. Decoding treats the bytes as hostile: counts and lengths are bounded,
 * each KVM struct must have its exact size, and any inconsistency is a {@link SnapshotFormatException}. What KVM
 * itself checks (register values) it checks again on restore.
 */
public final class SnapshotCodec {
    static final int MAX_VCPUS = 256;
    static final int MAX_STRUCT = 64 * 1024;
    static final int MAX_MSRS = 4096;
    static final int MAX_CPUID = 256;
    static final int MAX_TRANSPORTS = 32;
    static final int MAX_QUEUES = 64;
    static final int MAX_CONSOLE = 1 << 20;
    static final int MAX_PATH = 4096;
    static final int MAX_NAME = 255;
    static final String AGENT = "agent";
    /** Deltas live in the snapshot's own folder: a plain name, never a path. */
    public static final Pattern DELTA_NAME = Pattern.compile("delta-[0-9a-f]{1,32}");

    private SnapshotCodec() {
    }

    public static byte[] encode(MicrovmSnapshot s) {
        StateWriter w = new StateWriter();
        w.section("microvm").i64(s.memoryBytes());
        MemoryImage m = s.memory();
        w.section("memory").string(m.base().toString()).i64(m.baseSize()).i64(m.baseModified()).string(m.delta())
                .i64(m.deltaPages()).i64(m.deltaCrc());
        w.section("vm");
        for (Irqchip chip : s.vm().irqchips()) {
            w.i32(chip.chipId()).bytes(chip.state());
        }
        w.bytes(s.vm().pit().bytes()).i64(s.vm().clock());
        w.section("vcpus").i32(s.vcpus().size());
        for (VcpuSnapshot v : s.vcpus()) {
            w.section("vcpu").i32(v.id()).i32(v.cpuid().size());
            for (CpuidEntry e : v.cpuid()) {
                w.i32(e.function()).i32(e.index()).i32(e.flags()).i32(e.eax()).i32(e.ebx()).i32(e.ecx()).i32(e.edx());
            }
            w.i32(v.tscKhz()).i32(v.mpState()).bytes(v.regs().toBytes()).bytes(v.sregs().toBytes())
                    .bytes(v.fpu().toBytes()).bytes(v.xsave().bytes()).bool(v.xcrs() != null);
            if (v.xcrs() != null) {
                w.bytes(v.xcrs().bytes());
            }
            w.bytes(v.debugRegs().bytes()).bytes(v.lapic().bytes()).i32(v.msrs().size());
            for (Msr msr : v.msrs()) {
                w.i32(msr.index()).i64(msr.data());
            }
            w.bytes(v.events().bytes());
        }
        Serial8250.State serial = s.serial();
        w.section("serial").i32(serial.ier()).i32(serial.lcr()).i32(serial.mcr()).i32(serial.scr())
                .i32(serial.divisorLow()).i32(serial.divisorHigh()).bool(serial.fifoEnabled())
                .bool(serial.thrEmptyPending()).bytes(serial.rx());
        w.section("transports").i32(s.transports().size());
        for (MmioTransport.State t : s.transports()) {
            w.section("transport").i32(t.status()).i64(t.driverFeatures()).i32(t.deviceFeaturesSel())
                    .i32(t.driverFeaturesSel()).i32(t.queueSel()).i32(t.interruptStatus()).i32(t.configGeneration())
                    .bool(t.needsReset()).i32(t.queues().size());
            for (Queue.State q : t.queues()) {
                w.i32(q.size()).bool(q.ready()).i64(q.descriptorTable()).i64(q.availableRing()).i64(q.usedRing())
                        .i32(q.nextAvailable()).i32(q.nextUsed());
            }
        }
        w.section("console").string(s.consoleTail());
        // Optional sections last, each tagged, so snapshots without them read as before.
        if (s.disk() != null) {
            DiskStateCodec.encode(s.disk(), w);
        }
        if (s.vsock() != null) {
            VsockStateCodec.encode(s.vsock(), w);
        }
        if (s.agent() != null) {
            AgentClient.Session a = s.agent();
            w.section(AGENT).i32(a.version()).string(a.agentVersion()).i32(a.maxPayload()).i32(a.flags())
                    .i32(a.nextId());
        }
        return w.toByteArray();
    }

    public static MicrovmSnapshot decode(byte[] payload) {
        StateReader r = new StateReader(payload);
        try {
            r.expectSection("microvm");
            long memoryBytes = r.i64InRange("memory size", 4096, 1L << 40);
            r.expectSection("memory");
            String base = r.string(MAX_PATH);
            if (!base.startsWith("/")) {
                throw new SnapshotFormatException("memory base is not an absolute path: " + base);
            }
            long baseSize = r.i64();
            long baseModified = r.i64();
            String delta = r.string(MAX_NAME);
            if (!delta.isEmpty() && !DELTA_NAME.matcher(delta).matches()) {
                throw new SnapshotFormatException("bad delta file name: " + delta);
            }
            MemoryImage memory = new MemoryImage(Path.of(base), baseSize, baseModified, delta,
                    r.i64InRange("delta pages", 0, memoryBytes / 4096), r.i64());
            r.expectSection("vm");
            List<Irqchip> chips = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                chips.add(new Irqchip(r.i32(), r.bytes(MAX_STRUCT)));
            }
            VmSnapshot vm = new VmSnapshot(chips, new PitState(r.bytes(MAX_STRUCT)), r.i64());
            r.expectSection("vcpus");
            int count = r.i32InRange("vCPU count", 1, MAX_VCPUS);
            List<VcpuSnapshot> vcpus = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                vcpus.add(vcpu(r, i));
            }
            r.expectSection("serial");
            Serial8250.State serial = new Serial8250.State(r.i32(), r.i32(), r.i32(), r.i32(), r.i32(), r.i32(),
                    r.bool(), r.bool(), r.bytes(MAX_STRUCT));
            r.expectSection("transports");
            int transports = r.i32InRange("transport count", 0, MAX_TRANSPORTS);
            List<MmioTransport.State> states = new ArrayList<>();
            for (int i = 0; i < transports; i++) {
                states.add(transport(r));
            }
            r.expectSection("console");
            String console = r.string(MAX_CONSOLE);
            DiskState disk = null;
            VsockState vsock = null;
            AgentClient.Session agent = null;
            while (!r.atEnd()) {
                String tag = r.peekSection();
                if (tag.equals("disk") && disk == null) {
                    disk = DiskStateCodec.decode(r);
                } else if (tag.equals(VsockStateCodec.SECTION) && vsock == null) {
                    vsock = VsockStateCodec.decode(r);
                } else if (tag.equals(AGENT) && agent == null) {
                    r.expectSection(AGENT);
                    try {
                        agent = new AgentClient.Session(r.i32(), r.string(MAX_NAME), r.i32(), r.i32(), r.i32());
                    } catch (IllegalArgumentException e) {
                        throw new SnapshotFormatException("invalid agent session: " + e.getMessage());
                    }
                } else {
                    throw new SnapshotFormatException("unknown or repeated optional section '" + tag + "'");
                }
            }
            if (agent != null && vsock == null) {
                throw new SnapshotFormatException("an agent session without the vsock connection it runs on");
            }
            return new MicrovmSnapshot(memoryBytes, memory, vm, vcpus, serial, states, console, disk, vsock, agent);
        } catch (IllegalArgumentException e) {
            throw new SnapshotFormatException("invalid snapshot state: " + e.getMessage());
        }
    }

    private static VcpuSnapshot vcpu(StateReader r, int index) {
        r.expectSection("vcpu");
        int id = r.i32();
        if (id != index) {
            throw new SnapshotFormatException("vCPU " + index + " is saved with id " + id);
        }
        int leaves = r.i32InRange("CPUID leaf count", 1, MAX_CPUID);
        List<CpuidEntry> cpuid = new ArrayList<>(leaves);
        for (int i = 0; i < leaves; i++) {
            cpuid.add(new CpuidEntry(r.i32(), r.i32(), r.i32(), r.i32(), r.i32(), r.i32(), r.i32()));
        }
        int tscKhz = r.i32InRange("TSC kHz", 1, 100_000_000);
        int mpState = r.i32InRange("mp_state", 0, 16);
        Regs regs = Regs.fromBytes(r.bytes(MAX_STRUCT));
        Sregs sregs = Sregs.fromBytes(r.bytes(MAX_STRUCT));
        Fpu fpu = Fpu.fromBytes(r.bytes(MAX_STRUCT));
        Xsave xsave = new Xsave(r.bytes(MAX_STRUCT));
        Xcrs xcrs = r.bool() ? new Xcrs(r.bytes(MAX_STRUCT)) : null;
        DebugRegs debugRegs = new DebugRegs(r.bytes(MAX_STRUCT));
        Lapic lapic = new Lapic(r.bytes(MAX_STRUCT));
        int msrCount = r.i32InRange("MSR count", 0, MAX_MSRS);
        List<Msr> msrs = new ArrayList<>(msrCount);
        for (int i = 0; i < msrCount; i++) {
            msrs.add(new Msr(r.i32(), r.i64()));
        }
        VcpuEvents events = new VcpuEvents(r.bytes(MAX_STRUCT));
        return new VcpuSnapshot(id, cpuid, tscKhz, mpState, regs, sregs, fpu, xsave, xcrs, debugRegs, lapic, msrs,
                events);
    }

    private static MmioTransport.State transport(StateReader r) {
        r.expectSection("transport");
        int status = r.i32InRange("virtio status", 0, 0xff);
        long features = r.i64();
        int deviceFeaturesSel = r.i32();
        int driverFeaturesSel = r.i32();
        int queueSel = r.i32();
        int interruptStatus = r.i32();
        int configGeneration = r.i32();
        boolean needsReset = r.bool();
        int queues = r.i32InRange("queue count", 0, MAX_QUEUES);
        List<Queue.State> qs = new ArrayList<>();
        for (int i = 0; i < queues; i++) {
            qs.add(new Queue.State(r.i32InRange("queue size", 1, 32768), r.bool(), r.i64(), r.i64(), r.i64(),
                    r.i32InRange("next available", 0, 0xffff), r.i32InRange("next used", 0, 0xffff)));
        }
        return new MmioTransport.State(status, features, deviceFeaturesSel, driverFeaturesSel, queueSel,
                interruptStatus, configGeneration, needsReset, qs);
    }
}
