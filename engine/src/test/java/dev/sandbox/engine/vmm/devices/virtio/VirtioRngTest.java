package dev.sandbox.engine.vmm.devices.virtio;

import dev.sandbox.engine.vmm.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.security.SecureRandom;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VirtioRngTest {
    private final GuestMemory memory = GuestMemory.wrap(MemorySegment.ofArray(new byte[1 << 20]));
    private final MmioTransport transport = new MmioTransport(new VirtioRng(new SecureRandom()), memory, () -> { });
    private final MmioDriver driver = new MmioDriver(transport);
    private final DriverQueue queue = new DriverQueue(memory, 16, 0x1_0000, 0x4_0000);

    @Test
    void fillsEveryWritableBuffer() {
        driver.start(List.of(queue));
        DriverQueue.Buffer first = queue.writable(64);
        DriverQueue.Buffer second = queue.writable(16);
        DriverQueue.Buffer third = queue.writable(48);
        queue.add(first);
        queue.add(second, third);
        driver.notifyQueue(0);
        assertEquals(new DriverQueue.Used(0, 64), queue.nextUsed());
        assertEquals(new DriverQueue.Used(1, 64), queue.nextUsed());
        assertNull(queue.nextUsed());
        assertTrue(nonZero(first) && nonZero(third));
    }

    @Test
    void capsOneRequest() {
        driver.start(List.of(queue));
        queue.add(queue.writable(VirtioRng.MAX_REQUEST + 4096));
        driver.notifyQueue(0);
        assertEquals(VirtioRng.MAX_REQUEST, queue.nextUsed().length());
    }

    private boolean nonZero(DriverQueue.Buffer buffer) {
        for (byte b : memory.read(buffer.address(), buffer.length())) {
            if (b != 0) {
                return true;
            }
        }
        return false;
    }
}
