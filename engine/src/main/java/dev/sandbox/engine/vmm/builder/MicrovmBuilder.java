package dev.sandbox.engine.vmm.builder;

import dev.sandbox.engine.vmm.Microvm;
import dev.sandbox.engine.vmm.arch.BootParams;
import dev.sandbox.engine.vmm.arch.BootRegs;
import dev.sandbox.engine.vmm.arch.Cmdline;
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
import dev.sandbox.engine.vmm.vstate.ExitHandler;
import dev.sandbox.engine.vmm.vstate.StopReason;
import dev.sandbox.engine.vmm.vstate.Vcpu;
import dev.sandbox.engine.vmm.vstate.Vm;
import dev.sandbox.ffi.kvm.Kvm;
import dev.sandbox.ffi.kvm.VcpuFd;

import java.lang.foreign.MemorySegment;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

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
        HaltDetector halt = new HaltDetector();
        ConsoleLog console = new ConsoleLog(ConsoleLog.DEFAULT_CAPACITY, halt);
        // Host-side vsock work (filling RX buffers for host writes) runs here, off the callers' threads.
        ExecutorService vsockWorker = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().name(request.name() + "-vsock").daemon(true).factory());
        VirtioVsock vsock = new VirtioVsock(GUEST_CID, vsockWorker);
        Microvm microvm = new Microvm(request.name(), vm, console, vsock);
        halt.target(microvm::stop);
        try {
            microvm.addResource(() -> {
                vsockWorker.shutdownNow();
                vsockWorker.awaitTermination(10, TimeUnit.SECONDS);
            });
            BootRegs boot = loadGuest(vm.memory(), request);
            Bus portIo = Bus.portIo();
            Bus mmio = Bus.mmio();

            IrqFd serialIrq = irq(microvm, vm, Layout.COM1_IRQ);
            portIo.insert(new Serial8250(console, serialIrq), Layout.COM1_PORT, Serial8250.REGISTER_COUNT);
            portIo.insert(new I8042(() -> microvm.stop(new StopReason.GuestStopped("reset through the i8042"))),
                    Layout.I8042_PORT, I8042.PORT_RANGE);
            addVirtio(microvm, vm, mmio, VSOCK_SLOT, vsock);
            addVirtio(microvm, vm, mmio, RNG_SLOT, new VirtioRng(new SecureRandom()));

            ExitHandler exits = new ExitHandler(portIo, mmio);
            VcpuConfigurator configurator = new VcpuConfigurator(request.supportedCpuid(), request.vcpus());
            for (int id = 0; id < request.vcpus(); id++) {
                VcpuFd fd = vm.fd().createVcpu(id);
                Vcpu vcpu = new Vcpu(fd, exits, microvm::stop);
                microvm.addVcpu(vcpu); // owned from here on, closed with the microVM
                configurator.configure(fd, boot);
            }
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

    private static void addVirtio(Microvm microvm, Vm vm, Bus mmio, int slot, VirtioDevice device) {
        IrqFd irq = irq(microvm, vm, Layout.virtioIrq(slot));
        mmio.insert(new MmioTransport(device, vm.memory(), irq), Layout.virtioMmioBase(slot), Layout.VIRTIO_MMIO_SIZE);
    }

    private static IrqFd irq(Microvm microvm, Vm vm, int gsi) {
        IrqFd irq = IrqFd.register(vm.fd(), gsi);
        microvm.addResource(irq);
        return irq;
    }
}
