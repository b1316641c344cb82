package dev.sandbox.engine.vmm.devices.virtio;

import dev.sandbox.engine.vmm.devices.BusData;
import dev.sandbox.engine.vmm.devices.BusDevice;
import dev.sandbox.engine.vmm.devices.IrqLine;
import dev.sandbox.engine.vmm.memory.GuestMemory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The virtio-mmio transport, version 2 (virtio 1.2, 4.2.2): a 4 KiB register window per device. Registers below
 * 0x100 take aligned 32-bit accesses only; the device's configuration space follows at 0x100.
 *
 * <p>Locking: register accesses serialize on this transport; the device is called outside that lock for queue
 * notifications, and signals back through state that needs no lock, so device threads never wait for a vCPU.
 */
public final class MmioTransport implements BusDevice {
    static final int MAGIC_VALUE = 0x000;
    static final int VERSION = 0x004;
    static final int DEVICE_ID = 0x008;
    static final int VENDOR_ID = 0x00c;
    static final int DEVICE_FEATURES = 0x010;
    static final int DEVICE_FEATURES_SEL = 0x014;
    static final int DRIVER_FEATURES = 0x020;
    static final int DRIVER_FEATURES_SEL = 0x024;
    static final int QUEUE_SEL = 0x030;
    static final int QUEUE_NUM_MAX = 0x034;
    static final int QUEUE_NUM = 0x038;
    static final int QUEUE_READY = 0x044;
    public static final int QUEUE_NOTIFY = 0x050;
    static final int INTERRUPT_STATUS = 0x060;
    static final int INTERRUPT_ACK = 0x064;
    static final int STATUS = 0x070;
    static final int QUEUE_DESC_LOW = 0x080;
    static final int QUEUE_DESC_HIGH = 0x084;
    static final int QUEUE_DRIVER_LOW = 0x090;
    static final int QUEUE_DRIVER_HIGH = 0x094;
    static final int QUEUE_DEVICE_LOW = 0x0a0;
    static final int QUEUE_DEVICE_HIGH = 0x0a4;
    static final int SHM_LEN_LOW = 0x0b0;
    static final int SHM_LEN_HIGH = 0x0b4;
    static final int CONFIG_GENERATION = 0x0fc;
    static final int CONFIG = 0x100;

    static final int MAGIC = 0x7472_6976; // "virt"
    static final int VENDOR = 0x5342_4f58; // "XOBS": any value; ours
    static final int STATUS_ACKNOWLEDGE = 1;
    static final int STATUS_DRIVER = 2;
    static final int STATUS_DRIVER_OK = 4;
    static final int STATUS_FEATURES_OK = 8;
    static final int STATUS_DEVICE_NEEDS_RESET = 0x40;
    static final int INTERRUPT_VRING = 1;
    static final int INTERRUPT_CONFIG = 2;

    private static final System.Logger LOG = System.getLogger(MmioTransport.class.getName());

    private final VirtioDevice device;
    private final GuestMemory memory;
    private final IrqLine irq;
    private final List<Queue> queues = new ArrayList<>();
    private final AtomicInteger interruptStatus = new AtomicInteger();
    private final AtomicInteger configGeneration = new AtomicInteger();
    private final Signals signals = new Signals();
    private volatile boolean needsReset;
    private volatile String failure;
    private int status;
    private int deviceFeaturesSel;
    private int driverFeaturesSel;
    private long driverFeatures;
    private int queueSel;

    public MmioTransport(VirtioDevice device, GuestMemory memory, IrqLine irq) {
        this.device = device;
        this.memory = memory;
        this.irq = irq;
        for (int maxSize : device.queueMaxSizes()) {
            queues.add(new Queue(maxSize));
        }
    }

    /** Why the device asked for a reset, or null; for diagnostics. */
    public String failure() {
        return failure;
    }

    public int queueCount() {
        return queues.size();
    }

    /** A QueueNotify delivered through an ioeventfd, on the device thread. */
    public void queueNotified(int index) {
        notifyQueue(index);
    }

    /**
     * Processes every queue as if the driver had just notified it: after a restore or a revived pause, work the
     * driver queued while no device thread listened (its notification went with the old ioeventfds) is not left
     * stranded. Harmless when there is none.
     */
    public void kickQueues() {
        for (int i = 0; i < queues.size(); i++) {
            notifyQueue(i);
        }
    }

    /** What a snapshot keeps of the transport; the device's own state is its business. */
    public record State(int status, long driverFeatures, int deviceFeaturesSel, int driverFeaturesSel, int queueSel,
                        int interruptStatus, int configGeneration, boolean needsReset, List<Queue.State> queues) {
        public State {
            queues = List.copyOf(queues);
        }
    }

    /** Call with the vCPUs paused and the device quiet (no notification in flight). */
    public synchronized State state() {
        return new State(status, driverFeatures, deviceFeaturesSel, driverFeaturesSel, queueSel, interruptStatus.get(),
                configGeneration.get(), needsReset, queues.stream().map(Queue::state).toList());
    }

    /**
     * Takes a saved state before the restored VM runs; a driver that had finished setting up gets its device
     * activated again on the same queues. The state is untrusted: anything the driver could not have set up is
     * refused with IllegalArgumentException.
     */
    public synchronized void restore(State s) {
        if (s.queues().size() != queues.size()) {
            throw new IllegalArgumentException("saved transport has %d queues, device %d has %d"
                    .formatted(s.queues().size(), device.deviceType(), queues.size()));
        }
        for (int i = 0; i < queues.size(); i++) {
            queues.get(i).restore(s.queues().get(i));
        }
        status = s.status();
        driverFeatures = s.driverFeatures();
        deviceFeaturesSel = s.deviceFeaturesSel();
        driverFeaturesSel = s.driverFeaturesSel();
        queueSel = s.queueSel();
        interruptStatus.set(s.interruptStatus() & (INTERRUPT_VRING | INTERRUPT_CONFIG));
        configGeneration.set(s.configGeneration());
        needsReset = s.needsReset();
        if ((status & STATUS_DRIVER_OK) != 0 && !needsReset) {
            if ((status & STATUS_FEATURES_OK) == 0 || !featuresAcceptable()) {
                throw new IllegalArgumentException("saved transport of device %d is live without acceptable features"
                        .formatted(device.deviceType()));
            }
            String invalid = firstInvalidQueue();
            if (invalid != null) {
                throw new IllegalArgumentException("saved queue of device %d: %s".formatted(device.deviceType(),
                        invalid));
            }
            device.activate(memory, List.copyOf(queues), driverFeatures, signals);
        }
    }

    /** The status register as the driver reads it. */
    public synchronized int status() {
        return status | (needsReset ? STATUS_DEVICE_NEEDS_RESET : 0);
    }

    @Override
    public void read(long offset, byte[] data) {
        if (offset >= CONFIG) {
            device.readConfig(offset - CONFIG, data);
            return;
        }
        BusData.put(data, data.length == 4 && offset % 4 == 0 ? register((int) offset) : 0);
    }

    @Override
    public void write(long offset, byte[] data) {
        if (offset >= CONFIG) {
            device.writeConfig(offset - CONFIG, data);
            return;
        }
        if (data.length != 4 || offset % 4 != 0) {
            return;
        }
        int value = (int) BusData.get(data);
        if (offset == QUEUE_NOTIFY) {
            notifyQueue(value);
        } else {
            setRegister((int) offset, value);
        }
    }

    private synchronized int register(int offset) {
        return switch (offset) {
            case MAGIC_VALUE -> MAGIC;
            case VERSION -> 2;
            case DEVICE_ID -> device.deviceType();
            case VENDOR_ID -> VENDOR;
            case DEVICE_FEATURES -> deviceFeaturesSel > 1 ? 0 : (int) (device.features() >>> (32 * deviceFeaturesSel));
            case QUEUE_NUM_MAX -> selectedQueue() == null ? 0 : selectedQueue().maxSize();
            case QUEUE_READY -> selectedQueue() != null && selectedQueue().ready() ? 1 : 0;
            case INTERRUPT_STATUS -> interruptStatus.get();
            case STATUS -> status();
            case SHM_LEN_LOW, SHM_LEN_HIGH -> -1; // no shared memory regions
            case CONFIG_GENERATION -> configGeneration.get();
            default -> 0;
        };
    }

    private synchronized void setRegister(int offset, int value) {
        switch (offset) {
            case DEVICE_FEATURES_SEL -> deviceFeaturesSel = value;
            case DRIVER_FEATURES_SEL -> driverFeaturesSel = value;
            case DRIVER_FEATURES -> setDriverFeatures(value);
            case QUEUE_SEL -> queueSel = value;
            case QUEUE_NUM, QUEUE_READY, QUEUE_DESC_LOW, QUEUE_DESC_HIGH, QUEUE_DRIVER_LOW, QUEUE_DRIVER_HIGH,
                 QUEUE_DEVICE_LOW, QUEUE_DEVICE_HIGH -> configureQueue(offset, value);
            case INTERRUPT_ACK -> interruptStatus.getAndUpdate(bits -> bits & ~value);
            case STATUS -> setStatus(value);
            default -> { // read-only or unknown: ignored
            }
        }
    }

    private void setDriverFeatures(int value) {
        if ((status & (STATUS_DRIVER | STATUS_FEATURES_OK)) != STATUS_DRIVER || driverFeaturesSel > 1) {
            return; // features are only negotiated between DRIVER and FEATURES_OK
        }
        int shift = 32 * driverFeaturesSel;
        driverFeatures = (driverFeatures & ~(0xffff_ffffL << shift)) | (Integer.toUnsignedLong(value) << shift);
    }

    private void configureQueue(int offset, int value) {
        Queue queue = selectedQueue();
        if (queue == null || (status & STATUS_DRIVER_OK) != 0 || (queue.ready() && offset != QUEUE_READY)) {
            return; // a live queue's configuration is frozen
        }
        long low = Integer.toUnsignedLong(value);
        long high = low << 32;
        switch (offset) {
            case QUEUE_NUM -> queue.setSize(value);
            case QUEUE_READY -> queue.setReady(value == 1);
            case QUEUE_DESC_LOW -> queue.setDescriptorTable(queue.descriptorTable() & ~0xffff_ffffL | low);
            case QUEUE_DESC_HIGH -> queue.setDescriptorTable(queue.descriptorTable() & 0xffff_ffffL | high);
            case QUEUE_DRIVER_LOW -> queue.setAvailableRing(queue.availableRing() & ~0xffff_ffffL | low);
            case QUEUE_DRIVER_HIGH -> queue.setAvailableRing(queue.availableRing() & 0xffff_ffffL | high);
            case QUEUE_DEVICE_LOW -> queue.setUsedRing(queue.usedRing() & ~0xffff_ffffL | low);
            case QUEUE_DEVICE_HIGH -> queue.setUsedRing(queue.usedRing() & 0xffff_ffffL | high);
            default -> throw new IllegalStateException("not a queue register: " + offset);
        }
    }

    /** Status bits only accumulate (virtio 1.2, 3.1.1) until the driver writes 0, which resets the device. */
    private void setStatus(int value) {
        if (value == 0) {
            reset();
            return;
        }
        if ((value & status) != status) {
            return; // clearing bits other than by reset is not allowed
        }
        int added = value & ~status;
        if ((added & STATUS_FEATURES_OK) != 0 && !featuresAcceptable()) {
            value &= ~STATUS_FEATURES_OK; // the driver reads FEATURES_OK back and gives up
        }
        if ((added & STATUS_DRIVER_OK) != 0) {
            if ((value & STATUS_FEATURES_OK) == 0) {
                return;
            }
            String invalid = firstInvalidQueue();
            if (invalid != null) {
                status = value & ~STATUS_DRIVER_OK;
                signals.needsReset(invalid);
                return;
            }
            status = value;
            device.activate(memory, List.copyOf(queues), driverFeatures, signals);
            return;
        }
        status = value;
    }

    private boolean featuresAcceptable() {
        long offered = device.features();
        return (driverFeatures & ~offered) == 0 && (driverFeatures & VirtioFeatures.VERSION_1) != 0;
    }

    private String firstInvalidQueue() {
        for (int i = 0; i < queues.size(); i++) {
            String problem = queues.get(i).validate(memory);
            if (problem != null) {
                return "queue " + i + ": " + problem;
            }
        }
        return null;
    }

    private void reset() {
        device.reset();
        queues.forEach(Queue::reset);
        status = 0;
        needsReset = false;
        failure = null;
        interruptStatus.set(0);
        deviceFeaturesSel = 0;
        driverFeaturesSel = 0;
        driverFeatures = 0;
        queueSel = 0;
    }

    private void notifyQueue(int index) {
        synchronized (this) {
            if ((status & STATUS_DRIVER_OK) == 0 || needsReset || index < 0 || index >= queues.size()) {
                return;
            }
        }
        device.queueNotify(index); // outside our lock: the device may take its own and call back into signals
    }

    private Queue selectedQueue() {
        return queueSel >= 0 && queueSel < queues.size() ? queues.get(queueSel) : null;
    }

    /** The device's way back: interrupt status bits and the IRQ line, no transport lock needed. */
    private final class Signals implements VirtioInterrupt {
        @Override
        public void usedBuffers() {
            interruptStatus.getAndUpdate(bits -> bits | INTERRUPT_VRING);
            irq.trigger();
        }

        @Override
        public void configChanged() {
            configGeneration.incrementAndGet();
            interruptStatus.getAndUpdate(bits -> bits | INTERRUPT_CONFIG);
            irq.trigger();
        }

        @Override
        public void needsReset(String reason) {
            if (!needsReset) {
                LOG.log(System.Logger.Level.WARNING, "virtio device {0} needs reset: {1}", device.deviceType(), reason);
            }
            failure = reason;
            needsReset = true;
            interruptStatus.getAndUpdate(bits -> bits | INTERRUPT_CONFIG);
            irq.trigger();
        }
    }
}
