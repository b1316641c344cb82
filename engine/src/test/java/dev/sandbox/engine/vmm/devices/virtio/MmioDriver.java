package dev.sandbox.engine.vmm.devices.virtio;

import dev.sandbox.engine.vmm.devices.BusData;

import java.util.List;

/** Register-level driver for {@link MmioTransport} tests: the initialization sequence of virtio 1.2, 3.1.1. */
public final class MmioDriver {
    private final MmioTransport transport;

    public MmioDriver(MmioTransport transport) {
        this.transport = transport;
    }

    public int read(int offset) {
        byte[] data = new byte[4];
        transport.read(offset, data);
        return (int) BusData.get(data);
    }

    public void write(int offset, int value) {
        byte[] data = new byte[4];
        BusData.put(data, value);
        transport.write(offset, data);
    }

    public long deviceFeatures() {
        write(MmioTransport.DEVICE_FEATURES_SEL, 0);
        long low = Integer.toUnsignedLong(read(MmioTransport.DEVICE_FEATURES));
        write(MmioTransport.DEVICE_FEATURES_SEL, 1);
        return low | (long) read(MmioTransport.DEVICE_FEATURES) << 32;
    }

    /** Negotiates {@code features}; returns whether the device accepted them (FEATURES_OK stuck). */
    public boolean negotiate(long features) {
        write(MmioTransport.STATUS, 0);
        write(MmioTransport.STATUS, MmioTransport.STATUS_ACKNOWLEDGE);
        write(MmioTransport.STATUS, MmioTransport.STATUS_ACKNOWLEDGE | MmioTransport.STATUS_DRIVER);
        write(MmioTransport.DRIVER_FEATURES_SEL, 0);
        write(MmioTransport.DRIVER_FEATURES, (int) features);
        write(MmioTransport.DRIVER_FEATURES_SEL, 1);
        write(MmioTransport.DRIVER_FEATURES, (int) (features >>> 32));
        write(MmioTransport.STATUS, MmioTransport.STATUS_ACKNOWLEDGE | MmioTransport.STATUS_DRIVER
                | MmioTransport.STATUS_FEATURES_OK);
        return (read(MmioTransport.STATUS) & MmioTransport.STATUS_FEATURES_OK) != 0;
    }

    public void setUpQueue(int index, DriverQueue queue) {
        write(MmioTransport.QUEUE_SEL, index);
        write(MmioTransport.QUEUE_NUM, queue.size());
        write(MmioTransport.QUEUE_DESC_LOW, (int) queue.descriptorTable());
        write(MmioTransport.QUEUE_DESC_HIGH, (int) (queue.descriptorTable() >>> 32));
        write(MmioTransport.QUEUE_DRIVER_LOW, (int) queue.availableRing());
        write(MmioTransport.QUEUE_DRIVER_HIGH, 0);
        write(MmioTransport.QUEUE_DEVICE_LOW, (int) queue.usedRing());
        write(MmioTransport.QUEUE_DEVICE_HIGH, 0);
        write(MmioTransport.QUEUE_READY, 1);
    }

    /** Full bring-up with VERSION_1 and the given queues; returns the final status. */
    public int start(List<DriverQueue> queues) {
        return start(VirtioFeatures.VERSION_1, queues);
    }

    /** Full bring-up with {@code features} and the given queues; returns the final status. */
    public int start(long features, List<DriverQueue> queues) {
        if (!negotiate(features)) {
            throw new AssertionError("features refused");
        }
        for (int i = 0; i < queues.size(); i++) {
            setUpQueue(i, queues.get(i));
        }
        write(MmioTransport.STATUS, read(MmioTransport.STATUS) | MmioTransport.STATUS_DRIVER_OK);
        return read(MmioTransport.STATUS);
    }

    /** Reads {@code length} bytes of the device's configuration space with one access. */
    public byte[] readConfig(int offset, int length) {
        byte[] data = new byte[length];
        transport.read(MmioTransport.CONFIG + offset, data);
        return data;
    }

    /** Whether the device set DEVICE_NEEDS_RESET. */
    public boolean needsReset() {
        return (read(MmioTransport.STATUS) & MmioTransport.STATUS_DEVICE_NEEDS_RESET) != 0;
    }

    public void notifyQueue(int index) {
        write(MmioTransport.QUEUE_NOTIFY, index);
    }

    /** Reads and acknowledges the interrupt status, as the driver's interrupt handler does. */
    public int acknowledgeInterrupt() {
        int status = read(MmioTransport.INTERRUPT_STATUS);
        write(MmioTransport.INTERRUPT_ACK, status);
        return status;
    }
}
