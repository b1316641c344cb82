package dev.sandbox.engine.vmm.devices.virtio;

import dev.sandbox.engine.vmm.memory.GuestMemory;
import dev.sandbox.engine.vmm.memory.GuestMemoryException;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;

/** virtio-rng (entropy device, id 4): fills each device-writable buffer the guest offers with SecureRandom bytes. */
public final class VirtioRng implements VirtioDevice {
    public static final int DEVICE_TYPE = 4;
    static final int QUEUE_SIZE = 256;
    /** Bytes served per request at most, so one huge buffer cannot make the device allocate without bound. */
    static final int MAX_REQUEST = 64 * 1024;

    private final SecureRandom random;
    private GuestMemory memory;
    private Queue queue;
    private VirtioInterrupt interrupt;
    private boolean failed;

    public VirtioRng(SecureRandom random) {
        this.random = random;
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public long features() {
        return VirtioFeatures.VERSION_1;
    }

    @Override
    public List<Integer> queueMaxSizes() {
        return List.of(QUEUE_SIZE);
    }

    @Override
    public void readConfig(long offset, byte[] data) {
        Arrays.fill(data, (byte) 0); // no configuration space
    }

    @Override
    public void writeConfig(long offset, byte[] data) {
    }

    @Override
    public synchronized void activate(GuestMemory memory, List<Queue> queues, long ackedFeatures,
                                      VirtioInterrupt interrupt) {
        this.memory = memory;
        this.queue = queues.getFirst();
        this.interrupt = interrupt;
        this.failed = false;
    }

    @Override
    public synchronized void queueNotify(int index) {
        if (queue == null || failed) {
            return;
        }
        try {
            boolean used = false;
            for (DescriptorChain chain = queue.pop(memory); chain != null; chain = queue.pop(memory)) {
                int length = (int) Math.min(chain.writableLength(), MAX_REQUEST);
                byte[] bytes = new byte[length];
                random.nextBytes(bytes);
                chain.write(memory, 0, bytes, 0, length);
                queue.addUsed(memory, chain.head(), length);
                used = true;
            }
            if (used && queue.needsInterrupt(memory)) {
                interrupt.usedBuffers();
            }
        } catch (VirtqueueException | GuestMemoryException e) {
            failed = true;
            interrupt.needsReset("virtio-rng: " + e.getMessage());
        }
    }

    @Override
    public synchronized void reset() {
        memory = null;
        queue = null;
        interrupt = null;
        failed = false;
    }
}
