package dev.sandbox.engine.vmm.devices.virtio;

import dev.sandbox.engine.vmm.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

class MmioTransportTest {
    private final GuestMemory memory = GuestMemory.wrap(MemorySegment.ofArray(new byte[1 << 20]));
    private final AtomicInteger irqs = new AtomicInteger();
    private final MmioTransport transport = new MmioTransport(new VirtioRng(new SecureRandom()), memory,
            irqs::incrementAndGet);
    private final MmioDriver driver = new MmioDriver(transport);
    private final DriverQueue queue = new DriverQueue(memory, 16, 0x1_0000, 0x1_0000);

    @Test
    void identifiesAsAVersion2Device() {
        assertEquals(0x7472_6976, driver.read(MmioTransport.MAGIC_VALUE));
        assertEquals(2, driver.read(MmioTransport.VERSION));
        assertEquals(4, driver.read(MmioTransport.DEVICE_ID));
        assertEquals(VirtioFeatures.VERSION_1, driver.deviceFeatures());
        driver.write(MmioTransport.QUEUE_SEL, 0);
        assertEquals(256, driver.read(MmioTransport.QUEUE_NUM_MAX));
        driver.write(MmioTransport.QUEUE_SEL, 1);
        assertEquals(0, driver.read(MmioTransport.QUEUE_NUM_MAX)); // no such queue
        assertEquals(-1, driver.read(MmioTransport.SHM_LEN_LOW));
        byte[] narrow = {1, 2};
        transport.read(MmioTransport.MAGIC_VALUE, narrow);
        assertEquals(0, narrow[0]); // registers take 32-bit accesses only
    }

    @Test
    void refusesFeaturesItDidNotOfferOrALegacyDriver() {
        assertFalse(driver.negotiate(VirtioFeatures.VERSION_1 | VirtioFeatures.RING_INDIRECT_DESC));
        assertFalse(driver.negotiate(0));
        assertEquals(true, driver.negotiate(VirtioFeatures.VERSION_1));
    }

    @Test
    void activatesAndDeliversUsedBufferInterrupts() {
        int status = driver.start(List.of(queue));
        assertEquals(0x0f, status);
        queue.add(queue.writable(32));
        driver.notifyQueue(0);
        assertEquals(new DriverQueue.Used(0, 32), queue.nextUsed());
        assertEquals(1, irqs.get());
        assertEquals(MmioTransport.INTERRUPT_VRING, driver.acknowledgeInterrupt());
        assertEquals(0, driver.read(MmioTransport.INTERRUPT_STATUS));
    }

    @Test
    void aHostileChainSetsNeedsResetInsteadOfThrowing() {
        driver.start(List.of(queue));
        queue.descriptor(0, 0x3_0000, 16, Queue.DESC_F_WRITE | Queue.DESC_F_NEXT, 0); // loop
        queue.publish(0);
        driver.notifyQueue(0);
        assertEquals(MmioTransport.STATUS_DEVICE_NEEDS_RESET,
                driver.read(MmioTransport.STATUS) & MmioTransport.STATUS_DEVICE_NEEDS_RESET);
        assertEquals(MmioTransport.INTERRUPT_CONFIG, driver.acknowledgeInterrupt());
        assertNotNull(transport.failure());
        driver.notifyQueue(0); // ignored while failed

        driver.write(MmioTransport.STATUS, 0); // reset recovers
        assertEquals(0, driver.read(MmioTransport.STATUS));
        assertNull(transport.failure());
        DriverQueue fresh = new DriverQueue(memory, 16, 0x4_0000, 0x1_0000);
        driver.start(List.of(fresh));
        fresh.add(fresh.writable(8));
        driver.notifyQueue(0);
        assertEquals(new DriverQueue.Used(0, 8), fresh.nextUsed());
    }

    @Test
    void invalidQueueConfigurationFailsActivation() {
        driver.negotiate(VirtioFeatures.VERSION_1);
        driver.setUpQueue(0, queue);
        driver.write(MmioTransport.QUEUE_NUM, 3); // ignored: the queue is already ready
        driver.write(MmioTransport.QUEUE_READY, 0);
        driver.write(MmioTransport.QUEUE_NUM, 3);
        driver.write(MmioTransport.QUEUE_READY, 1);
        driver.write(MmioTransport.STATUS, driver.read(MmioTransport.STATUS) | MmioTransport.STATUS_DRIVER_OK);
        int status = driver.read(MmioTransport.STATUS);
        assertEquals(0, status & MmioTransport.STATUS_DRIVER_OK);
        assertEquals(MmioTransport.STATUS_DEVICE_NEEDS_RESET, status & MmioTransport.STATUS_DEVICE_NEEDS_RESET);
    }

    @Test
    void statusBitsCannotBeClearedWithoutAReset() {
        driver.start(List.of(queue));
        driver.write(MmioTransport.STATUS, MmioTransport.STATUS_ACKNOWLEDGE);
        assertEquals(0x0f, driver.read(MmioTransport.STATUS));
    }
}
