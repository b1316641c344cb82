package dev.sandbox.engine.vmm.devices.legacy;

import dev.sandbox.engine.vmm.devices.BusDevice;

import java.util.ArrayDeque;

/**
 * The i8042 keyboard controller at ports 0x60 (data, offset 0) and 0x64 (status/command, offset 4), only as far as a
 * guest needs: the controller commands Linux's i8042 driver issues while probing, and command 0xFE (pulse the reset
 * line), which the guest uses to reboot and the VMM treats as "stop this VM". No keyboard is attached: as with
 * Firecracker, boot with {@code i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd}.
 */
public final class I8042 implements BusDevice {
    /** The device covers ports 0x60..0x64. */
    public static final int PORT_RANGE = 5;
    static final int DATA_OFFSET = 0;
    static final int COMMAND_OFFSET = 4;

    static final int STATUS_OUTPUT_FULL = 0x01;
    static final int STATUS_SYSTEM_FLAG = 0x04; // set after a successful self-test
    static final int STATUS_COMMAND = 0x08;     // last write went to the command port

    static final int CMD_READ_CONFIG = 0x20;
    static final int CMD_WRITE_CONFIG = 0x60;
    static final int CMD_SELF_TEST = 0xaa;
    static final int CMD_KBD_TEST = 0xab;
    static final int CMD_READ_OUTPUT_PORT = 0xd0;
    static final int CMD_WRITE_OUTPUT_PORT = 0xd1;
    static final int CMD_RESET_CPU = 0xfe;
    static final int SELF_TEST_OK = 0x55;

    private final Runnable resetRequested;
    private final ArrayDeque<Integer> output = new ArrayDeque<>();
    private int status = STATUS_SYSTEM_FLAG;
    private int config = 0x45;       // translate, system flag, keyboard interrupt: what firmware leaves
    private int outputPort = 0x01;   // CPU not held in reset
    private int pendingCommand;      // a command waiting for its data byte, or 0

    public I8042(Runnable resetRequested) {
        this.resetRequested = resetRequested;
    }

    @Override
    public synchronized void read(long offset, byte[] data) {
        if (data.length != 1) {
            return;
        }
        data[0] = (byte) switch ((int) offset) {
            case DATA_OFFSET -> {
                Integer next = output.poll();
                yield next == null ? 0 : next;
            }
            case COMMAND_OFFSET -> status | (output.isEmpty() ? 0 : STATUS_OUTPUT_FULL);
            default -> 0;
        };
    }

    @Override
    public void write(long offset, byte[] data) {
        if (data.length != 1) {
            return;
        }
        boolean reset;
        synchronized (this) {
            int value = Byte.toUnsignedInt(data[0]);
            reset = switch ((int) offset) {
                case COMMAND_OFFSET -> command(value);
                case DATA_OFFSET -> {
                    data(value);
                    yield false;
                }
                default -> false;
            };
        }
        if (reset) { // outside the lock: the callback may stop vCPUs
            resetRequested.run();
        }
    }

    /** Returns whether the command asks for a CPU reset. */
    private boolean command(int command) {
        status |= STATUS_COMMAND;
        pendingCommand = 0;
        switch (command) {
            case CMD_READ_CONFIG -> output.add(config);
            case CMD_WRITE_CONFIG, CMD_WRITE_OUTPUT_PORT -> pendingCommand = command;
            case CMD_SELF_TEST -> output.add(SELF_TEST_OK);
            case CMD_KBD_TEST -> output.add(0x00);
            case CMD_READ_OUTPUT_PORT -> output.add(outputPort);
            case CMD_RESET_CPU -> {
                return true;
            }
            default -> { // enable/disable keyboard or aux port and others: nothing to model
            }
        }
        return false;
    }

    private void data(int value) {
        status &= ~STATUS_COMMAND;
        switch (pendingCommand) {
            case CMD_WRITE_CONFIG -> config = value;
            case CMD_WRITE_OUTPUT_PORT -> outputPort = value;
            default -> { // a byte for the keyboard, and there is none: boot with i8042.dumbkbd so Linux does not probe
            }
        }
        pendingCommand = 0;
    }
}
