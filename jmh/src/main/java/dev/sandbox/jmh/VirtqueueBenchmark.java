package dev.sandbox.jmh;

import dev.sandbox.engine.vmm.devices.virtio.DescriptorChain;
import dev.sandbox.engine.vmm.devices.virtio.DriverQueue;
import dev.sandbox.engine.vmm.devices.virtio.Queue;
import dev.sandbox.engine.vmm.memory.GuestMemory;
import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One request through a split virtqueue, device side: pop and validate a chain of one readable and one writable
 * buffer, copy the request out and a reply in, publish the used entry. The driver side (the test fake) reuses
 * the same two descriptors each time so only the device's work grows with the payload.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class VirtqueueBenchmark {

    @Param({"64", "4096"})
    public int payload;

    private Arena arena;
    private GuestMemory memory;
    private DriverQueue driver;
    private Queue queue;
    private byte[] in;
    private byte[] out;
    private int head;

    @Setup
    public void setUp() {
        arena = Arena.ofConfined();
        memory = GuestMemory.allocate(arena, 4 << 20);
        driver = new DriverQueue(memory, 256, 0x10_0000, 1 << 20);
        queue = new Queue(256);
        driver.configure(queue);
        in = new byte[payload];
        out = new byte[payload];
        head = driver.add(driver.readable(new byte[payload]), driver.writable(payload));
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public int requestRoundTrip() {
        driver.publish(head);
        DescriptorChain chain = queue.pop(memory);
        chain.read(memory, 0, in, 0, payload);
        chain.write(memory, 0, out, 0, payload);
        queue.addUsed(memory, chain.head(), payload);
        return driver.nextUsed().length();
    }
}
