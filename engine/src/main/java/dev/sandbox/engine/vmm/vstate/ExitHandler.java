package dev.sandbox.engine.vmm.vstate;

import dev.sandbox.engine.vmm.devices.Bus;
import dev.sandbox.ffi.kvm.KvmConstants;
import dev.sandbox.ffi.kvm.VcpuExit;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * Turns one KVM exit into device accesses and an {@link ExitOutcome}. Port I/O goes to the port bus: reads of ports
 * no device owns return all ones (an empty ISA bus), writes to them are dropped. MMIO goes to the MMIO bus: unowned
 * reads return zero. Stateless apart from the buses, so every vCPU of a VM can share one.
 */
public final class ExitHandler {
    private final Bus portIo;
    private final Bus mmio;

    public ExitHandler(Bus portIo, Bus mmio) {
        this.portIo = portIo;
        this.mmio = mmio;
    }

    public ExitOutcome handle(VcpuExit exit) {
        return switch (exit) {
            case VcpuExit.Io io -> {
                io(io);
                yield ExitOutcome.CONTINUE;
            }
            case VcpuExit.Mmio m -> {
                mmio(m);
                yield ExitOutcome.CONTINUE;
            }
            case VcpuExit.Intr ignored -> ExitOutcome.KICKED;
            case VcpuExit.Hlt ignored -> guestStopped("HLT with interrupts off");
            case VcpuExit.Shutdown ignored -> new ExitOutcome.Stop(
                    new StopReason.Crashed("triple fault (shutdown exit)"));
            case VcpuExit.SystemEvent e -> switch (e.type()) {
                case KvmConstants.KVM_SYSTEM_EVENT_SHUTDOWN -> guestStopped("system event shutdown");
                case KvmConstants.KVM_SYSTEM_EVENT_RESET -> guestStopped("system event reset");
                default -> failed("system event type %d flags 0x%x".formatted(e.type(), e.flags()));
            };
            case VcpuExit.FailEntry f -> failed("KVM_EXIT_FAIL_ENTRY hardware reason 0x%x on host cpu %d"
                    .formatted(f.hardwareReason(), f.cpu()));
            case VcpuExit.InternalError e -> failed("KVM_EXIT_INTERNAL_ERROR suberror %d data %s"
                    .formatted(e.suberror(), hex(e.data())));
            case VcpuExit.Unknown u -> failed("unhandled exit reason " + u.reason());
        };
    }

    private void io(VcpuExit.Io io) {
        MemorySegment data = io.data();
        byte[] access = new byte[io.size()];
        for (int i = 0; i < io.count(); i++) {
            MemorySegment slot = data.asSlice((long) i * io.size(), io.size());
            if (io.direction() == VcpuExit.Direction.OUT) {
                MemorySegment.copy(slot, ValueLayout.JAVA_BYTE, 0, access, 0, access.length);
                portIo.write(io.port(), access);
            } else {
                if (!portIo.read(io.port(), access)) {
                    Arrays.fill(access, (byte) 0xff);
                }
                MemorySegment.copy(access, 0, slot, ValueLayout.JAVA_BYTE, 0, access.length);
            }
        }
    }

    private void mmio(VcpuExit.Mmio m) {
        byte[] access = new byte[m.length()];
        if (m.isWrite()) {
            MemorySegment.copy(m.data(), ValueLayout.JAVA_BYTE, 0, access, 0, access.length);
            mmio.write(m.address(), access);
        } else {
            if (!mmio.read(m.address(), access)) {
                Arrays.fill(access, (byte) 0);
            }
            MemorySegment.copy(access, 0, m.data(), ValueLayout.JAVA_BYTE, 0, access.length);
        }
    }

    private static ExitOutcome guestStopped(String how) {
        return new ExitOutcome.Stop(new StopReason.GuestStopped(how));
    }

    private static ExitOutcome failed(String details) {
        return new ExitOutcome.Stop(new StopReason.Failed(details));
    }

    private static String hex(long[] values) {
        StringBuilder b = new StringBuilder("[");
        for (long v : values) {
            b.append(b.length() > 1 ? " " : "").append("0x").append(HexFormat.of().toHexDigits(v));
        }
        return b.append(']').toString();
    }
}
