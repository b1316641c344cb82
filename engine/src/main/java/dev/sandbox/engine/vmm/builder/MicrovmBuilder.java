package dev.sandbox.engine.vmm.builder;

import dev.sandbox.engine.net.GuestNetLayout;
import dev.sandbox.engine.vmm.Microvm;
import dev.sandbox.engine.vmm.arch.BootParams;
import dev.sandbox.engine.vmm.arch.BootRegs;
import dev.sandbox.engine.vmm.arch.Cmdline;
import dev.sandbox.engine.vmm.arch.Cpuid;
import dev.sandbox.engine.vmm.arch.CpuidEntry;
import dev.sandbox.engine.vmm.arch.E820;
import dev.sandbox.engine.vmm.arch.Gdt;
import dev.sandbox.engine.vmm.arch.KernelImageException;
import dev.sandbox.engine.vmm.arch.KernelLoader;
import dev.sandbox.engine.vmm.arch.Layout;
import dev.sandbox.engine.vmm.arch.LoadedKernel;
import dev.sandbox.engine.vmm.arch.MpTable;
import dev.sandbox.engine.vmm.arch.PageTables;
import dev.sandbox.engine.vmm.devices.Bus;
import dev.sandbox.engine.vmm.devices.legacy.ConsoleLog;
import dev.sandbox.engine.vmm.devices.legacy.I8042;
import dev.sandbox.engine.vmm.devices.legacy.Serial8250;
import dev.sandbox.engine.vmm.devices.virtio.MmioTransport;
import dev.sandbox.engine.vmm.devices.virtio.VirtioDevice;
import dev.sandbox.engine.vmm.devices.virtio.VirtioRng;
import dev.sandbox.engine.vmm.devices.virtio.blk.OverlayDisk;
import dev.sandbox.engine.vmm.devices.virtio.blk.VirtioBlk;
import dev.sandbox.engine.vmm.devices.virtio.net.DisconnectedBackend;
import dev.sandbox.engine.vmm.devices.virtio.net.MacAddress;
import dev.sandbox.engine.vmm.devices.virtio.net.NetBackend;
import dev.sandbox.engine.vmm.devices.virtio.net.VirtioNet;
import dev.sandbox.engine.vmm.devices.virtio.vsock.VirtioVsock;
import dev.sandbox.engine.vmm.memory.DeltaRuns;
import dev.sandbox.engine.vmm.memory.GuestMemory;
import dev.sandbox.engine.vmm.snapshot.MicrovmSnapshot;
import dev.sandbox.engine.vmm.vstate.ExitHandler;
import dev.sandbox.engine.vmm.vstate.KvmTypes;
import dev.sandbox.engine.vmm.vstate.StopReason;
import dev.sandbox.engine.vmm.vstate.Vcpu;
import dev.sandbox.engine.vmm.vstate.VcpuSnapshot;
import dev.sandbox.engine.vmm.vstate.Vm;
import dev.sandbox.ffi.Pollable;
import dev.sandbox.ffi.kvm.Kvm;
import dev.sandbox.ffi.kvm.VcpuFd;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Builds a ready-to-start {@link Microvm}: RAM, the kernel (ELF {@code vmlinux} at its physical addresses, or a
 * bzImage), the initrd as high as the kernel allows, command line, zero page, e820, MP table, page tables and GDT;
 * the serial port and i8042 on the port bus; virtio-vsock (slot 0), virtio-rng (slot 1), virtio-net (slot 2) and, for
 * a disk template, virtio-blk (slot 3) on the MMIO bus, each with an irqfd; and configured vCPUs. On any failure
 * everything built so far is released, the network backend and the disk included.
 */
public final class MicrovmBuilder {
    /** The guest's vsock context id: any value from 3 works, each VM has its own device. */
    public static final long GUEST_CID = 3;
    /** The guest NIC's MAC, the same in every VM so that clones and resumed guests keep their neighbours. */
    public static final MacAddress GUEST_MAC = MacAddress.parse(GuestNetLayout.GUEST_MAC);
    /**
     * The device set a VM is built with; part of a template's key, so templates made with another set are made
     * again. 2: virtio-net in slot 2. 3: the agent's vsock connection is kept in the snapshot (clones take it up).
     */
    public static final int MACHINE_VERSION = 3;
    static final int VSOCK_SLOT = 0;
    static final int RNG_SLOT = 1;
    static final int NET_SLOT = 2;
    static final int DISK_SLOT = 3;
    static final int VIRTIO_DEVICES = 3;
    /** A disk template's VM: the root disk in slot 3. */
    static final int VIRTIO_DEVICES_WITH_DISK = 4;
    /** Snapshots made before virtio-net have vsock and rng only; they are restored without a NIC. */
    static final int VIRTIO_DEVICES_WITHOUT_NET = 2;

    private MicrovmBuilder() {
    }

    /**
     * What to build: the images are shared and read-only. {@code network} is the NIC's host side, owned by the
     * microVM from this call on (closed with it, or at once if the build fails); null gives the guest a NIC whose
     * cable is unplugged ({@link DisconnectedBackend}). {@code disk}: a disk template's root disk, owned likewise, with
     * {@code initrd} null (the kernel mounts the disk); null for an initramfs template.
     */
    public record Request(String name, int vcpus, long memoryBytes, MemorySegment kernelImage,
                          MemorySegment initrd, List<CpuidEntry> supportedCpuid, NetBackend network,
                          OverlayDisk disk) {
        public Request {
            if ((initrd == null) == (disk == null)) {
                throw new IllegalArgumentException("a VM boots from an initrd or from a disk, exactly one");
            }
        }
    }

    public static Microvm build(Kvm kvm, Request request) {
        NetBackend network = orDisconnected(request.network());
        Vm vm = createOrClose(() -> Vm.create(kvm, request.name(), request.memoryBytes()), network, request.disk());
        return assemble(vm, request.name(), network, true, request.disk(), (microvm, devices) -> {
            BootRegs boot = loadGuest(vm.memory(), request);
            devices.startThreads();
            VcpuConfigurator configurator = new VcpuConfigurator(request.supportedCpuid(), request.vcpus());
            for (int id = 0; id < request.vcpus(); id++) {
                VcpuFd fd = vm.fd().createVcpu(id);
                Vcpu vcpu = new Vcpu(fd, devices.exits(), microvm::stop);
                microvm.addVcpu(vcpu); // owned from here on, closed with the microVM
                configurator.configure(fd, boot);
            }
        });
    }

    /**
     * What to restore: a decoded snapshot (untrusted) and the guest RAM file it goes with, plus the checked delta to
     * map over it ({@code delta}, null for none; a delta of the first format is copied in by {@code fillMemory}).
     * {@code network} as in {@link Request}; a snapshot from before virtio-net restores without a NIC, and its
     * backend is only closed with the microVM.
     */
    public record RestoreRequest(String name, MicrovmSnapshot snapshot, Path memoryFile, DeltaRuns delta,
                                 List<CpuidEntry> supportedCpuid, Consumer<MemorySegment> fillMemory,
                                 NetBackend network, OverlayDisk disk) {
    }

    /**
     * Builds the same machine as {@link #build} with RAM mapped copy-on-write from the snapshot's memory file and
     * every piece of state put back; ready to start. After starting, the caller takes up the agent's kept vsock
     * connection, or, for a snapshot that kept none, sends the vsock transport reset.
     * A state KVM or a device refuses fails the restore, releasing everything.
     */
    public static Microvm restore(Kvm kvm, RestoreRequest request) {
        MicrovmSnapshot state = request.snapshot();
        NetBackend network = orDisconnected(request.network());
        OverlayDisk disk = request.disk();
        int transports = state.transports().size();
        int expected = disk != null ? VIRTIO_DEVICES_WITH_DISK : VIRTIO_DEVICES;
        if (transports != expected && (disk != null || transports != VIRTIO_DEVICES_WITHOUT_NET)) {
            closeAll(new IllegalArgumentException("the snapshot has " + transports + " virtio transports, this VMM"
                    + " restores " + VIRTIO_DEVICES_WITHOUT_NET + " (made before virtio-net), " + VIRTIO_DEVICES
                    + " or, with a disk, " + VIRTIO_DEVICES_WITH_DISK), network, disk);
        }
        Vm vm = createOrClose(() -> Vm.restore(kvm, request.memoryFile(), state.memoryBytes(),
                request.delta()), network, disk);
        return assemble(vm, request.name(), network, transports != VIRTIO_DEVICES_WITHOUT_NET, disk,
                (microvm, devices) -> {
            request.fillMemory().accept(vm.memory().slice(0, vm.memorySize()));
            devices.serial().restore(state.serial());
            for (int i = 0; i < transports; i++) {
                devices.transports().get(i).restore(state.transports().get(i));
            }
            if (state.agent() != null) { // connections are only worth keeping with the session that uses them
                microvm.vsock().restore(state.vsock());
            }
            devices.startThreads();
            state.vm().restore(vm.fd());
            int count = state.vcpus().size();
            for (VcpuSnapshot saved : state.vcpus()) {
                VcpuFd fd = vm.fd().createVcpu(saved.id());
                Vcpu vcpu = new Vcpu(fd, devices.exits(), microvm::stop);
                microvm.addVcpu(vcpu);
                List<CpuidEntry> here = Cpuid.forVcpu(request.supportedCpuid(), saved.id(), count);
                if (!here.equals(saved.cpuid())) {
                    throw new IllegalStateException("the snapshot's vCPU " + saved.id() + " ran with a CPU this"
                            + " host cannot give it: " + CpuidDiff.describe(saved.cpuid(), here));
                }
                saved.restore(fd, fd.getTscKhz());
            }
            // The saved console tail stays in the snapshot file: replaying it would re-run the halt detector.
        });
    }

    /** The devices every microVM has, for the step that loads or restores the guest. */
    private record Devices(Serial8250 serial, List<MmioTransport> transports, DeviceEvents events,
                           Optional<BackendWatch> netWatch, ExitHandler exits) {
        /** Once the device state is in place. */
        void startThreads() {
            events.start();
            netWatch.ifPresent(BackendWatch::start);
        }
    }

    private static NetBackend orDisconnected(NetBackend network) {
        return network != null ? network : new DisconnectedBackend();
    }

    /** The VM from {@code create}, or the backends closed if there is none: nothing else owns them yet. */
    private static Vm createOrClose(Supplier<Vm> create, NetBackend network, OverlayDisk disk) {
        try {
            return create.get();
        } catch (RuntimeException | Error e) {
            closeAfter(e, network);
            if (disk != null) {
                closeAfter(e, disk);
            }
            throw e;
        }
    }

    private static void closeAll(RuntimeException failure, NetBackend network, OverlayDisk disk) {
        closeAfter(failure, network);
        if (disk != null) {
            closeAfter(failure, disk);
        }
        throw failure;
    }

    private static void closeAfter(Throwable failure, AutoCloseable resource) {
        try {
            resource.close();
        } catch (Exception suppressed) {
            failure.addSuppressed(suppressed);
        }
    }

    private interface GuestStep {
        void apply(Microvm microvm, Devices devices);
    }

    /**
     * Puts the devices around {@code vm}, a NIC over {@code network} if {@code withNet}, then lets {@code guest} load
     * or restore it; releases all on failure, {@code vm} and {@code network} included.
     */
    private static Microvm assemble(Vm vm, String name, NetBackend network, boolean withNet, OverlayDisk disk,
                                    GuestStep guest) {
        HaltDetector halt = new HaltDetector();
        ConsoleLog console = new ConsoleLog(ConsoleLog.DEFAULT_CAPACITY, halt);
        DeviceWorker vsockWorker;
        Microvm microvm;
        try {
            // Host-side vsock work (filling RX buffers for host writes) runs here, off the callers' threads.
            vsockWorker = new DeviceWorker(name + "-vsock");
            // Host ports start somewhere new in every VM life, so a restored guest's stale packets for the
            // connections of its earlier life cannot match a new connection.
            VirtioVsock vsock = new VirtioVsock(GUEST_CID, vsockWorker,
                    VirtioVsock.FIRST_HOST_PORT + ThreadLocalRandom.current().nextInt(1 << 24));
            microvm = new Microvm(name, vm, console, vsock);
        } catch (RuntimeException | Error e) {
            closeAfter(e, network);
            if (disk != null) {
                closeAfter(e, disk);
            }
            closeAfter(e, vm);
            throw e;
        }
        halt.target(microvm::stop);
        try {
            microvm.addResource(network); // first in, so released last of the resources, after every device thread
            if (disk != null) {
                microvm.addResource(disk);
            }
            microvm.addDeviceThread(vsockWorker);
            microvm.onDevicesRevived(vsockWorker::restart);
            Bus portIo = Bus.portIo();
            Bus mmio = Bus.mmio();

            IrqFd serialIrq = irq(microvm, vm, Layout.COM1_IRQ);
            Serial8250 serial = new Serial8250(console, serialIrq);
            portIo.insert(serial, Layout.COM1_PORT, Serial8250.REGISTER_COUNT);
            portIo.insert(new I8042(() -> microvm.stop(halt.resetReason())),
                    Layout.I8042_PORT, I8042.PORT_RANGE);
            DeviceEvents events = new DeviceEvents(name + "-devices", vm.fd());
            List<MmioTransport> transports = new ArrayList<>();
            Optional<BackendWatch> netWatch = Optional.empty();
            try {
                transports.add(addVirtio(microvm, vm, mmio, VSOCK_SLOT, microvm.vsock(), events));
                transports.add(addVirtio(microvm, vm, mmio, RNG_SLOT, new VirtioRng(new SecureRandom()), events));
                if (withNet) {
                    VirtioNet net = new VirtioNet(GUEST_MAC, network);
                    transports.add(addVirtio(microvm, vm, mmio, NET_SLOT, net, events));
                    microvm.setNet(net);
                    netWatch = network.readiness().map(fd -> watch(microvm, name, net, fd));
                }
                if (disk != null) {
                    VirtioBlk blk = new VirtioBlk(disk);
                    transports.add(addVirtio(microvm, vm, mmio, DISK_SLOT, blk, events));
                    microvm.setDisk(blk, disk);
                }
            } finally {
                microvm.addDeviceThread(events);
            }
            microvm.addDevices(serial, transports);
            guest.apply(microvm, new Devices(serial, List.copyOf(transports), events, netWatch,
                    new ExitHandler(portIo, mmio)));
            return microvm;
        } catch (RuntimeException | Error e) {
            try {
                microvm.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** Writes kernel, initrd, command line and boot tables; returns the boot vCPU's registers. */
    static BootRegs loadGuest(GuestMemory memory, Request request) {
        LoadedKernel kernel;
        try {
            kernel = KernelLoader.load(memory, request.kernelImage());
        } catch (KernelImageException e) {
            throw new IllegalArgumentException("cannot load the guest kernel: " + e.getMessage(), e);
        }
        BootParams params = BootParams.forKernel(kernel);
        boolean disk = request.disk() != null;
        if (!disk) {
            long initrdSize = request.initrd().byteSize();
            long initrdAt = Layout.initrdAddress(memory.size(), initrdSize, kernel.end(), params.initrdAddressMax());
            memory.write(initrdAt, request.initrd());
            params.ramdisk(initrdAt, initrdSize);
        }

        Cmdline cmdline = BootCommandLine.build(request.name(), disk ? VIRTIO_DEVICES_WITH_DISK : VIRTIO_DEVICES,
                true, disk);
        byte[] line = cmdline.toBytesWithNul();
        memory.write(Layout.CMDLINE_START, line);

        params.commandLine(Layout.CMDLINE_START, line.length - 1)
                .e820(E820.forMemory(memory.size()))
                .writeTo(memory, Layout.ZERO_PAGE_START);
        MpTable.write(memory, request.vcpus());
        long cr3 = PageTables.write(memory);
        Gdt.write(memory);
        return BootRegs.linux64(kernel.entry(), cr3);
    }

    private static MmioTransport addVirtio(Microvm microvm, Vm vm, Bus mmio, int slot, VirtioDevice device,
                                           DeviceEvents events) {
        IrqFd irq = irq(microvm, vm, Layout.virtioIrq(slot));
        MmioTransport transport = new MmioTransport(device, vm.memory(), irq);
        long base = Layout.virtioMmioBase(slot);
        mmio.insert(transport, base, Layout.VIRTIO_MMIO_SIZE);
        for (int queue = 0; queue < transport.queueCount(); queue++) {
            int index = queue;
            events.addQueueNotify(base + MmioTransport.QUEUE_NOTIFY, index, () -> transport.queueNotified(index));
        }
        return transport;
    }

    /** The NIC's backend watch: stopped with the device threads for a snapshot, started again on a revive. */
    private static BackendWatch watch(Microvm microvm, String name, VirtioNet net, Pollable backend) {
        BackendWatch watch = new BackendWatch(name + "-net", backend, net::backendReadable);
        net.onRxResumed(watch::rearm);
        microvm.addDeviceThread(watch);
        microvm.onDevicesRevived(watch::start);
        return watch;
    }

    private static IrqFd irq(Microvm microvm, Vm vm, int gsi) {
        IrqFd irq = IrqFd.register(vm.fd(), gsi);
        microvm.addResource(irq);
        return irq;
    }
}
