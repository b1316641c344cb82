package dev.sandbox.engine.vmm.vstate;

import dev.sandbox.engine.vmm.devices.Bus;
import dev.sandbox.engine.vmm.devices.BusDevice;
import dev.sandbox.ffi.kvm.KvmConstants;
import dev.sandbox.ffi.kvm.VcpuExit;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExitHandlerTest {
    private final List<String> accesses = new ArrayList<>();
    private final Bus pio = Bus.portIo();
    private final Bus mmio = Bus.mmio();
    private final ExitHandler handler = new ExitHandler(pio, mmio);

    /** Records writes; reads answer 0x40 + offset in every byte. */
    private final BusDevice recorder = new BusDevice() {
        @Override
        public void read(long offset, byte[] data) {
            java.util.Arrays.fill(data, (byte) (0x40 + offset));
        }

        @Override
        public void write(long offset, byte[] data) {
            accesses.add("w" + offset + "=" + java.util.HexFormat.of().formatHex(data));
        }
    };

    @Test
    void portWritesReachTheDeviceOncePerStringElement() {
        pio.insert(recorder, 0x3f8, 8);
        MemorySegment data = MemorySegment.ofArray(new byte[] {'h', 'i'});
        assertEquals(ExitOutcome.CONTINUE, handler.handle(new VcpuExit.Io(0x3f8, VcpuExit.Direction.OUT, 1, 2, data)));
        assertEquals(List.of("w0=68", "w0=69"), accesses);
    }

    @Test
    void portReadsComeFromTheDeviceOrAllOnes() {
        pio.insert(recorder, 0x60, 5);
        VcpuExit.Io owned = new VcpuExit.Io(0x64, VcpuExit.Direction.IN, 1, 1, MemorySegment.ofArray(new byte[1]));
        handler.handle(owned);
        assertEquals(0x44, owned.value());
        VcpuExit.Io empty = new VcpuExit.Io(0x2f8, VcpuExit.Direction.IN, 2, 1, MemorySegment.ofArray(new byte[2]));
        handler.handle(empty);
        assertEquals(0xffff, empty.value());
    }

    @Test
    void mmioGoesToTheMmioBusAndUnownedReadsAreZero() {
        mmio.insert(recorder, 0xd000_0000L, 0x1000);
        MemorySegment value = MemorySegment.ofArray(new byte[4]);
        value.set(ValueLayout.JAVA_INT_UNALIGNED, 0, 0x0403_0201);
        handler.handle(new VcpuExit.Mmio(0xd000_0070L, 4, true, value));
        assertEquals(List.of("w112=01020304"), accesses);
        VcpuExit.Mmio read = new VcpuExit.Mmio(0xd000_0000L, 4, false, MemorySegment.ofArray(new byte[4]));
        handler.handle(read);
        assertEquals(0x4040_4040L, read.value());
        VcpuExit.Mmio unowned = new VcpuExit.Mmio(0xd100_0000L, 4, false,
                MemorySegment.ofArray(new byte[] {1, 2, 3, 4}));
        handler.handle(unowned);
        assertEquals(0, unowned.value());
    }

    @Test
    void guestStopsAndFailuresEndTheVcpu() {
        assertEquals(ExitOutcome.KICKED, handler.handle(new VcpuExit.Intr()));
        assertInstanceOf(StopReason.Crashed.class, stop(new VcpuExit.Shutdown()));
        assertInstanceOf(StopReason.GuestStopped.class, stop(new VcpuExit.Hlt()));
        assertInstanceOf(StopReason.GuestStopped.class,
                stop(new VcpuExit.SystemEvent(KvmConstants.KVM_SYSTEM_EVENT_RESET, 0)));
        StopReason failed = stop(new VcpuExit.InternalError(1, new long[] {0x10, 0x20}));
        assertInstanceOf(StopReason.Failed.class, failed);
        assertTrue(failed.describe().contains("suberror 1"), failed.describe());
        assertInstanceOf(StopReason.Failed.class, stop(new VcpuExit.FailEntry(0x80000021L, 1)));
        assertInstanceOf(StopReason.Failed.class, stop(new VcpuExit.Unknown(99)));
    }

    private StopReason stop(VcpuExit exit) {
        return assertInstanceOf(ExitOutcome.Stop.class, handler.handle(exit)).reason();
    }
}
