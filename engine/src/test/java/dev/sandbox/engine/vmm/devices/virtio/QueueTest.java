package dev.sandbox.engine.vmm.devices.virtio;

import dev.sandbox.engine.vmm.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QueueTest {
    private final GuestMemory memory = GuestMemory.wrap(MemorySegment.ofArray(new byte[1 << 20]));
    private final DriverQueue driver = new DriverQueue(memory, 8, 0x1_0000, 0x1_0000);
    private final Queue queue = new Queue(16);

    QueueTest() {
        driver.configure(queue);
    }

    @Test
    void popsChainsSplitIntoReadableAndWritableBuffersAndReturnsThemUsed() {
        assertNull(queue.validate(memory));
        assertNull(queue.pop(memory));
        int head = driver.add(driver.readable(new byte[] {1, 2, 3}), driver.readable(new byte[] {4, 5}),
                driver.writable(4), driver.writable(4));
        DescriptorChain chain = queue.pop(memory);
        assertEquals(head, chain.head());
        assertEquals(5, chain.readableLength());
        assertEquals(8, chain.writableLength());
        byte[] bytes = new byte[4];
        chain.read(memory, 1, bytes, 0, 4); // crosses the first buffer's end
        assertArrayEquals(new byte[] {2, 3, 4, 5}, bytes);
        chain.write(memory, 2, new byte[] {9, 9, 9, 9}, 0, 4);
        assertEquals(0x0909, memory.readU16(chain.writable().get(0).address() + 2));
        assertEquals(0x0909, memory.readU16(chain.writable().get(1).address()));
        assertThrows(VirtqueueException.class, () -> chain.write(memory, 5, new byte[4], 0, 4));
        assertNull(queue.pop(memory));

        queue.addUsed(memory, chain.head(), 6);
        assertEquals(new DriverQueue.Used(head, 6), driver.nextUsed());
        assertTrue(queue.needsInterrupt(memory));
        driver.suppressInterrupts(true);
        assertTrue(!queue.needsInterrupt(memory));
    }

    @Test
    void indicesWrapAround16Bits() {
        for (int i = 0; i < 70_000; i++) {
            driver.add(driver.writable(0));
            DescriptorChain chain = queue.pop(memory);
            queue.addUsed(memory, chain.head(), 0);
            driver.nextUsed();
        }
        assertEquals(70_000 & 0xffff, driver.usedIndex());
    }

    @Test
    void rejectsDescriptorLoops() {
        driver.descriptor(0, 0x3_0000, 16, Queue.DESC_F_NEXT, 1);
        driver.descriptor(1, 0x3_0000, 16, Queue.DESC_F_NEXT, 0);
        driver.publish(0);
        assertTrue(assertThrows(VirtqueueException.class, () -> queue.pop(memory)).getMessage().contains("loop"));
    }

    @Test
    void rejectsIndicesOutsideTheQueue() {
        driver.publish(8); // head == size
        assertThrows(VirtqueueException.class, () -> queue.pop(memory));
        driver.descriptor(0, 0x3_0000, 16, Queue.DESC_F_NEXT, 200);
        driver.publish(0);
        assertThrows(VirtqueueException.class, () -> queue.pop(memory));
    }

    @Test
    void rejectsBuffersOutsideGuestMemoryAndHugeLengths() {
        driver.descriptor(0, memory.size() - 8, 16, 0, 0);
        driver.descriptor(1, 0x3_0000, 0xffff_ffffL, Queue.DESC_F_WRITE, 0);
        driver.descriptor(2, -16, 32, 0, 0); // wraps around the 64-bit address space
        driver.publish(0);
        driver.publish(1);
        driver.publish(2);
        assertThrows(VirtqueueException.class, () -> queue.pop(memory));
        assertThrows(VirtqueueException.class, () -> queue.pop(memory));
        assertThrows(VirtqueueException.class, () -> queue.pop(memory));
    }

    @Test
    void rejectsIndirectAndMisorderedDescriptors() {
        driver.descriptor(0, 0x3_0000, 16, Queue.DESC_F_INDIRECT, 0);
        driver.publish(0);
        assertThrows(VirtqueueException.class, () -> queue.pop(memory));
        driver.descriptor(1, 0x3_0000, 16, Queue.DESC_F_WRITE | Queue.DESC_F_NEXT, 2);
        driver.descriptor(2, 0x3_0000, 16, 0, 0);
        driver.publish(1);
        assertThrows(VirtqueueException.class, () -> queue.pop(memory));
    }

    @Test
    void rejectsAnAvailableIndexRunningAhead() {
        driver.setAvailableIndex(9);
        assertThrows(VirtqueueException.class, () -> queue.pop(memory));
    }

    @Test
    void validatesTheDriversConfiguration() {
        Queue bad = new Queue(16);
        assertEquals("queue not ready", bad.validate(memory));
        bad.setReady(true);
        bad.setSize(12);
        assertTrue(bad.validate(memory).contains("power of two"));
        bad.setSize(32);
        assertTrue(bad.validate(memory).contains("power of two"));
        bad.setSize(16);
        bad.setDescriptorTable(8);
        assertTrue(bad.validate(memory).contains("misaligned"));
        bad.setDescriptorTable(memory.size() - 16);
        assertTrue(bad.validate(memory).contains("outside"));
    }
}
