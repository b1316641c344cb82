package dev.sandbox.engine.vmm.builder;

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
import dev.sandbox.engine.vmm.devices.virtio.vsock.VirtioVsock;
import dev.sandbox.engine.vmm.memory.GuestMemory;
import dev.sandbox.engine.vmm.snapshot.MicrovmSnapshot;
import dev.sandbox.engine.vmm.vstate.ExitHandler;
import dev.sandbox.engine.vmm.vstate.KvmTypes;
import dev.sandbox.engine.vmm.vstate.StopReason;
import dev.sandbox.engine.vmm.vstate.Vcpu;
import dev.sandbox.engine.vmm.vstate.VcpuSnapshot;
import dev.sandbox.engine.vmm.vstate.Vm;
import dev.sandbox.ffi.kvm.Kvm;
import dev.sandbox.ffi.kvm.VcpuFd;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Builds a ready-to-start {@link Microvm}: RAM, the kernel (ELF {@code vmlinux} at its physical addresses, or a
 * bzImage), the initrd as high as the kernel allows, command line, zero page, e820, MP table, page tables and GDT;
 * the serial port and i8042 on the port bus; virtio-vsock (slot 0) and virtio-rng (slot 1) on the MMIO bus, each with
 * an irqfd; and configured vCPUs. On any failure everything built so far is released.
 */
public final class MicrovmBuilder {
    /** The guest's vsock context id: any value from 3 works, each VM has its own device. */
    public static final long GUEST_CID = 3;
    static final int VSOCK_SLOT = 0;
    static final int RNG_SLOT = 1;
    static final int VIRTIO_DEVICES = 2;

    private MicrovmBuilder() {
    }

    /** What to build: the images are shared and read-only. */
    public record Request(String name, int vcpus, long memoryBytes, MemorySegment kernelImage,
                          MemorySegment initrd, List<CpuidEntry> supportedCpuid) {
    }

    public static Microvm build(Kvm kvm, Request request) {
        Vm vm = Vm.create(kvm, request.name(), request.memoryBytes());
        return assemble(vm, request.name(), (microvm, devices) -> {
            BootRegs boot = loadGuest(vm.memory(), request);
            devices.events().start();
            VcpuConfigurator configurator = new VcpuConfigurator(request.supportedCpuid(), request.vcpus());
            for (int id = 0; id < request.vcpus(); id++) {
                VcpuFd fd = vm.fd().createVcpu(id);
                Vcpu vcpu = new Vcpu(fd, devices.exits(), microvm::stop);
                microvm.addVcpu(vcpu); // owned from here on, closed with the microVM
                configurator.configure(fd, boot);
            }
        });
    }

    /** What to restore: a decoded snapshot (untrusted) and the guest RAM file it goes with. */
    public record RestoreRequest(String name, MicrovmSnapshot snapshot, Path memoryFile,
                                 List<CpuidEntry> supportedCpuid, Consumer<MemorySegment> fillMemory) {
    }

    /**
     * Builds the same machine as {@link #build} with RAM mapped copy-on-write from the snapshot's memory file and
     * every piece of state put back; ready to start. After starting, the caller sends the vsock transport reset.
     * A state KVM or a device refuses fails the restore, releasing everything.
     */
    public static Microvm restore(Kvm kvm, RestoreRequest request) {
        MicrovmSnapshot state = request.snapshot();
        if (state.transports().size() != VIRTIO_DEVICES) {
            throw new IllegalArgumentException("the snapshot has " + state.transports().size()
                    + " virtio transports, this VMM builds " + VIRTIO_DEVICES);
        }
        Vm vm = Vm.restore(kvm, request.memoryFile(), state.memoryBytes());
        return assemble(vm, request.name(), (microvm, devices) -> {
            request.fillMemory().accept(vm.memory().slice(0, vm.memorySize()));
            devices.serial().restore(state.serial());
            for (int i = 0; i < VIRTIO_DEVICES; i++) {
                devices.transports().get(i).restore(state.transports().get(i));
            }
            devices.events().start();
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
                           ExitHandler exits) {
    }

    private interface GuestStep {
        void apply(Microvm microvm, Devices devices);
    }

    /** Puts the devices around {@code vm}, then lets {@code guest} load or restore it; releases all on failure. */
    private static Microvm assemble(Vm vm, String name, GuestStep guest) {
        HaltDetector halt = new HaltDetector();
        ConsoleLog console = new ConsoleLog(ConsoleLog.DEFAULT_CAPACITY, halt);
        // Host-side vsock work (filling RX buffers for host writes) runs here, off the callers' threads.
        DeviceWorker vsockWorker = new DeviceWorker(name + "-vsock");
        // Host ports start somewhere new in every VM life, so a restored guest's stale packets for the connections
        // of its earlier life cannot match a new connection.
        VirtioVsock vsock = new VirtioVsock(GUEST_CID, vsockWorker,
                VirtioVsock.FIRST_HOST_PORT + ThreadLocalRandom.current().nextInt(1 << 24));
        Microvm microvm = new Microvm(name, vm, console, vsock);
        halt.target(microvm::stop);
        try {
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
            List<MmioTransport> transports;
            try {
                transports = List.of(addVirtio(microvm, vm, mmio, VSOCK_SLOT, vsock, events),
                        addVirtio(microvm, vm, mmio, RNG_SLOT, new VirtioRng(new SecureRandom()), events));
            } finally {
                microvm.addDeviceThread(events);
            }
            microvm.addDevices(serial, transports);
            guest.apply(microvm, new Devices(serial, transports, events, new ExitHandler(portIo, mmio)));
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
        long initrdSize = request.initrd().byteSize();
        long initrdAt = Layout.initrdAddress(memory.size(), initrdSize, kernel.end(), params.initrdAddressMax());
        memory.write(initrdAt, request.initrd());

        Cmdline cmdline = BootCommandLine.build(request.name(), VIRTIO_DEVICES);
        byte[] line = cmdline.toBytesWithNul();
        memory.write(Layout.CMDLINE_START, line);

        params.commandLine(Layout.CMDLINE_START, line.length - 1)
                .ramdisk(initrdAt, initrdSize)
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

    private static IrqFd irq(Microvm microvm, Vm vm, int gsi) {
        IrqFd irq = IrqFd.register(vm.fd(), gsi);
        microvm.addResource(irq);
        return irq;
    }
}
