package dev.sandbox.engine.vmm;

import dev.sandbox.engine.vmm.arch.Cpuid;
import dev.sandbox.engine.vmm.arch.CpuidEntry;
import dev.sandbox.engine.vmm.devices.legacy.ConsoleLog;
import dev.sandbox.engine.vmm.devices.legacy.Serial8250;
import dev.sandbox.engine.vmm.devices.virtio.MmioTransport;
import dev.sandbox.engine.vmm.devices.virtio.blk.OverlayDisk;
import dev.sandbox.engine.vmm.devices.virtio.blk.VirtioBlk;
import dev.sandbox.engine.vmm.devices.virtio.net.VirtioNet;
import dev.sandbox.engine.vmm.snapshot.MemoryImage;
import dev.sandbox.engine.vmm.snapshot.MicrovmSnapshot;
import dev.sandbox.engine.vmm.devices.virtio.vsock.VirtioVsock;
import dev.sandbox.engine.vmm.vstate.StopReason;
import dev.sandbox.engine.vmm.vstate.Vcpu;
import dev.sandbox.engine.vmm.vstate.VcpuCommand;
import dev.sandbox.engine.vmm.vstate.VcpuSnapshot;
import dev.sandbox.engine.vmm.vstate.VcpuState;
import dev.sandbox.engine.vmm.vstate.Vm;
import dev.sandbox.engine.vmm.vstate.VmSnapshot;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A built microVM: the VM, its vCPU threads and its devices, with a lifecycle. The first stop reason wins (the guest
 * turning itself off, a KVM failure, or {@link #close()}); once stopped, every vCPU thread is told to finish.
 * {@link #close()} joins the threads and releases fds, mappings and helper threads in reverse order of creation.
 */
public final class Microvm implements AutoCloseable {
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(10);

    private final String name;
    private final Vm vm;
    private final List<Vcpu> vcpus = new ArrayList<>();
    private final ConsoleLog console;
    private final VirtioVsock vsock;
    /**
     * Threads that work on device state (ioeventfd loop, vsock worker, NIC backend watch): stopped first, and
     * before a snapshot.
     */
    private final List<AutoCloseable> deviceThreads = new ArrayList<>();
    private final List<Runnable> revivers = new ArrayList<>();
    /** Released after the vCPUs and device threads, before the VM (eventfds). */
    private final List<AutoCloseable> resources = new ArrayList<>();
    private Serial8250 serial;
    private volatile VirtioNet net;
    private volatile VirtioBlk blk;
    /** A disk template's root disk (released with the VM's resources), or null. */
    private volatile OverlayDisk disk;
    /** The image this VM's RAM was restored from (its base file is mapped copy-on-write), or null if it booted. */
    private volatile MemoryImage memoryBase;
    private final List<MmioTransport> transports = new ArrayList<>();
    private final CompletableFuture<StopReason> stopped = new CompletableFuture<>();
    private boolean closed;

    public Microvm(String name, Vm vm, ConsoleLog console, VirtioVsock vsock) {
        this.name = name;
        this.vm = vm;
        this.console = console;
        this.vsock = vsock;
    }

    /** Builder only: adds a configured vCPU (started by {@link #start()}, closed by {@link #close()}). */
    public void addVcpu(Vcpu vcpu) {
        vcpus.add(vcpu);
    }

    /** Builder only: a thread that touches device state, stopped after the vCPUs. */
    public void addDeviceThread(AutoCloseable thread) {
        deviceThreads.add(thread);
    }

    /** Builder only: the devices whose state a snapshot keeps, transports in slot order. */
    public void addDevices(Serial8250 serial, List<MmioTransport> transports) {
        this.serial = serial;
        this.transports.addAll(transports);
    }

    /** Builder only: the NIC, when the VM has one. */
    public void setNet(VirtioNet net) {
        this.net = net;
    }

    /** Builder only: the root disk, when the VM has one. */
    public void setDisk(VirtioBlk blk, OverlayDisk disk) {
        this.blk = blk;
        this.disk = disk;
    }

    /** The root disk's device (its counters); empty for an initramfs VM. */
    public Optional<VirtioBlk> blk() {
        return Optional.ofNullable(blk);
    }

    /** The root disk; empty for an initramfs VM. */
    public Optional<OverlayDisk> disk() {
        return Optional.ofNullable(disk);
    }

    /** The NIC (its counters); empty for a VM restored from a snapshot made before virtio-net. */
    public Optional<VirtioNet> net() {
        return Optional.ofNullable(net);
    }

    public void setMemoryBase(MemoryImage base) {
        this.memoryBase = base;
    }

    public MemoryImage memoryBase() {
        return memoryBase;
    }

    public Serial8250 serial() {
        return serial;
    }

    public List<MmioTransport> transports() {
        return List.copyOf(transports);
    }

    public List<Vcpu> vcpus() {
        return List.copyOf(vcpus);
    }

    /**
     * The state of a paused microVM, RAM aside. Stops the device threads first so that nothing changes a queue
     * while it is read; the VM can then only be closed (its devices no longer work), which is what pausing to a
     * snapshot does next.
     */
    public synchronized MicrovmSnapshot snapshot(int[] msrs, boolean xcrs, List<CpuidEntry> supportedCpuid) {
        List<Exception> failures = new ArrayList<>();
        stopDeviceThreads(failures);
        if (!failures.isEmpty()) {
            throw new IllegalStateException("device threads of " + name + " did not stop", failures.getFirst());
        }
        VmSnapshot vmState = VmSnapshot.capture(vm.fd());
        List<VcpuSnapshot> states = vcpus.stream()
                .map(v -> VcpuSnapshot.capture(v.pausedFd(), Cpuid.forVcpu(supportedCpuid, v.id(), vcpus.size()),
                        msrs, xcrs)).toList();
        return new MicrovmSnapshot(vm.memorySize(), memoryBase, vmState, states, serial.state(),
                transports.stream().map(MmioTransport::state).toList(), console.tail(), null, vsock.state(), null);
    }

    private void stopDeviceThreads(List<Exception> failures) {
        for (int i = deviceThreads.size() - 1; i >= 0; i--) {
            closeInto(deviceThreads.get(i), failures);
        }
    }

    /** Builder only: how to start the device helpers again after {@link #snapshot} (see {@link #revive}). */
    public void onDevicesRevived(Runnable restart) {
        revivers.add(restart);
    }

    /**
     * Runs the VM again after a {@link #snapshot} whose files could not be written: the device helpers start again,
     * queue notifications come through the vCPUs' MMIO exits (the ioeventfds went with the device thread), and the
     * vCPUs resume. Device state was only read, so the guest goes on as if nothing happened.
     */
    public synchronized void revive() {
        if (closed) {
            throw new IllegalStateException("microVM " + name + " is closed");
        }
        revivers.forEach(Runnable::run);
        resume();
        for (MmioTransport t : transports) {
            t.kickQueues(); // anything the guest queued while the helpers were down
        }
    }

    /** Builder only: something to release after the vCPUs stopped and before the VM goes. */
    public void addResource(AutoCloseable resource) {
        resources.add(resource);
    }

    public String name() {
        return name;
    }

    public Vm vm() {
        return vm;
    }

    public ConsoleLog console() {
        return console;
    }

    public VirtioVsock vsock() {
        return vsock;
    }

    public int vcpuCount() {
        return vcpus.size();
    }

    public void start() {
        for (Vcpu vcpu : vcpus) {
            vcpu.start(name + "-vcpu" + vcpu.id());
        }
    }

    /** Completes with the first stop reason. */
    public CompletableFuture<StopReason> stopped() {
        return stopped;
    }

    /** Records why the VM stops and tells every vCPU to finish; any thread, including a vCPU's own. */
    public void stop(StopReason reason) {
        if (stopped.complete(reason)) {
            for (Vcpu vcpu : vcpus) {
                vcpu.send(VcpuCommand.STOP);
            }
        }
    }

    /** Takes every vCPU out of the guest and parks it; memory and device state stay. */
    public void pause() {
        sendToAll(VcpuCommand.PAUSE);
    }

    public void resume() {
        sendToAll(VcpuCommand.RESUME);
    }

    /** Sends to all vCPUs at once, then waits for each to apply it. */
    private void sendToAll(VcpuCommand command) {
        List<CompletableFuture<VcpuState>> applied = vcpus.stream().map(v -> v.send(command)).toList();
        try {
            CompletableFuture.allOf(applied.toArray(CompletableFuture[]::new))
                    .get(COMMAND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while sending " + command + " to the vCPUs of " + name);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("the vCPUs of " + name + " did not apply " + command, e);
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        stop(new StopReason.Requested());
        List<Exception> failures = new ArrayList<>();
        for (Vcpu vcpu : vcpus) {
            closeInto(vcpu, failures);
        }
        stopDeviceThreads(failures);
        for (int i = resources.size() - 1; i >= 0; i--) {
            closeInto(resources.get(i), failures);
        }
        closeInto(vm, failures);
        if (!failures.isEmpty()) {
            IllegalStateException e = new IllegalStateException("releasing microVM " + name + " failed",
                    failures.getFirst());
            failures.stream().skip(1).forEach(e::addSuppressed);
            throw e;
        }
    }

    private static void closeInto(AutoCloseable c, List<Exception> failures) {
        try {
            c.close();
        } catch (Exception e) {
            failures.add(e);
        }
    }
}
