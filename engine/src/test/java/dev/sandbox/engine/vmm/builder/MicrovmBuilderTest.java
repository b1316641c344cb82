package dev.sandbox.engine.vmm.builder;

import dev.sandbox.engine.net.GuestNetLayout;
import dev.sandbox.engine.vmm.devices.virtio.MmioTransport;
import dev.sandbox.engine.vmm.devices.virtio.net.NetBackend;
import dev.sandbox.engine.vmm.snapshot.MicrovmSnapshot;
import dev.sandbox.engine.vmm.snapshot.SnapshotCodecTest;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the builder decides before it touches KVM (the rest is covered by the Kvm* tests on a KVM host). */
class MicrovmBuilderTest {
    @Test
    void aSnapshotWithAnotherDeviceSetIsRefusedAndTheBackendClosed() {
        for (int count : new int[] {0, 1, 4}) {
            AtomicInteger closed = new AtomicInteger();
            NetBackend backend = new NetBackend() {
                @Override
                public int receive(MemorySegment buffer) {
                    return -1;
                }

                @Override
                public boolean send(MemorySegment packet) {
                    return false;
                }

                @Override
                public void close() {
                    closed.incrementAndGet();
                }
            };
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> MicrovmBuilder.restore(null, request(transports(count), backend)));
            assertTrue(e.getMessage().contains("has " + count + " virtio transports"), e.getMessage());
            assertEquals(1, closed.get(), "the backend given to the refused restore is released");
            assertThrows(IllegalArgumentException.class,
                    () -> MicrovmBuilder.restore(null, request(transports(count), null)), "no network too");
        }
    }

    @Test
    void theNicIsInSlotTwoWithTheGuestMacOfEverySandbox() {
        assertEquals(2, MicrovmBuilder.NET_SLOT);
        assertEquals(MicrovmBuilder.NET_SLOT + 1, MicrovmBuilder.VIRTIO_DEVICES);
        assertEquals(GuestNetLayout.GUEST_MAC, MicrovmBuilder.GUEST_MAC.toString());
    }

    private static MicrovmSnapshot transports(int count) {
        MicrovmSnapshot s = SnapshotCodecTest.sample();
        List<MmioTransport.State> states = Collections.nCopies(count, s.transports().getFirst());
        return new MicrovmSnapshot(s.memoryBytes(), s.memory(), s.vm(), s.vcpus(), s.serial(), states,
                s.consoleTail(), null, null, null);
    }

    private static MicrovmBuilder.RestoreRequest request(MicrovmSnapshot snapshot, NetBackend backend) {
        return new MicrovmBuilder.RestoreRequest("sb-test", snapshot, Path.of("/nonexistent/memory"), null,
                List.of(),
                ram -> { }, backend, null);
    }
}
