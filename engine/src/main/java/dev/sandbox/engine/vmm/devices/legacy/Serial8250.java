package dev.sandbox.engine.vmm.devices.legacy;

import dev.sandbox.engine.vmm.devices.BusDevice;
import dev.sandbox.engine.vmm.devices.IrqLine;

import java.util.ArrayDeque;

/**
 * A 16550A-style UART, enough for Linux's 8250 driver: transmitted bytes go straight to a {@link ConsoleLog} (the
 * transmitter is always empty again at once), received bytes come from {@link #enqueueInput}. Registers, at offsets
 * 0..7 from the base port (PC16550D datasheet):
 * <pre>
 * 0 RBR (read) / THR (write), or DLL when LCR.DLAB   1 IER, or DLM when LCR.DLAB
 * 2 IIR (read) / FCR (write)    3 LCR    4 MCR    5 LSR    6 MSR    7 SCR
 * </pre>
 */
public final class Serial8250 implements BusDevice {
    public static final int REGISTER_COUNT = 8;
    static final int RX_FIFO_CAPACITY = 64;

    static final int DATA = 0;
    static final int IER = 1;
    static final int IIR_FCR = 2;
    static final int LCR = 3;
    static final int MCR = 4;
    static final int LSR = 5;
    static final int MSR = 6;
    static final int SCR = 7;

    static final int IER_RX_DATA = 0x01;
    static final int IER_THR_EMPTY = 0x02;
    static final int IER_MASK = 0x0f;
    static final int IIR_NONE = 0x01;
    static final int IIR_THR_EMPTY = 0x02;
    static final int IIR_RX_DATA = 0x04;
    static final int IIR_FIFO_ENABLED = 0xc0;
    static final int FCR_FIFO_ENABLE = 0x01;
    static final int LCR_DLAB = 0x80;
    static final int MCR_LOOPBACK = 0x10;
    static final int LSR_DATA_READY = 0x01;
    static final int LSR_THR_EMPTY = 0x20;
    static final int LSR_TRANSMITTER_EMPTY = 0x40;
    static final int MSR_CTS = 0x10;
    static final int MSR_DSR = 0x20;
    static final int MSR_RI = 0x40;
    static final int MSR_DCD = 0x80;

    private final ConsoleLog log;
    private final IrqLine irq;
    private final ArrayDeque<Byte> rx = new ArrayDeque<>();
    private int ier;
    private int lcr;
    private int mcr;
    private int scr;
    private int divisorLow = 0x0c; // 9600 baud, what firmware would leave
    private int divisorHigh;
    private boolean fifoEnabled;
    private boolean thrEmptyPending;

    public Serial8250(ConsoleLog log, IrqLine irq) {
        this.log = log;
        this.irq = irq;
    }

    /** The registers and unread input, for a snapshot. */
    public record State(int ier, int lcr, int mcr, int scr, int divisorLow, int divisorHigh, boolean fifoEnabled,
                        boolean thrEmptyPending, byte[] rx) {
        public State {
            rx = rx.clone();
        }

        @Override
        public byte[] rx() {
            return rx.clone();
        }
    }

    public synchronized State state() {
        byte[] pending = new byte[rx.size()];
        int i = 0;
        for (byte b : rx) {
            pending[i++] = b;
        }
        return new State(ier, lcr, mcr, scr, divisorLow, divisorHigh, fifoEnabled, thrEmptyPending, pending);
    }

    /** Takes a saved state (untrusted): register values are masked to what the guest could have written. */
    public synchronized void restore(State s) {
        if (s.rx().length > RX_FIFO_CAPACITY) {
            throw new IllegalArgumentException("saved serial input of " + s.rx().length + " bytes");
        }
        ier = s.ier() & IER_MASK;
        lcr = s.lcr() & 0xff;
        mcr = s.mcr() & 0xff;
        scr = s.scr() & 0xff;
        divisorLow = s.divisorLow() & 0xff;
        divisorHigh = s.divisorHigh() & 0xff;
        fifoEnabled = s.fifoEnabled();
        thrEmptyPending = s.thrEmptyPending();
        rx.clear();
        for (byte b : s.rx()) {
            rx.add(b);
        }
    }

    /** Queues bytes typed at the console; returns how many fit in the receive FIFO. */
    public synchronized int enqueueInput(byte[] bytes) {
        int accepted = 0;
        while (accepted < bytes.length && rx.size() < RX_FIFO_CAPACITY) {
            rx.add(bytes[accepted++]);
        }
        if (accepted > 0 && (ier & IER_RX_DATA) != 0) {
            irq.trigger();
        }
        return accepted;
    }

    @Override
    public synchronized void read(long offset, byte[] data) {
        if (data.length != 1) { // the UART has byte registers only
            return;
        }
        data[0] = (byte) readRegister((int) offset);
    }

    @Override
    public synchronized void write(long offset, byte[] data) {
        if (data.length != 1) {
            return;
        }
        writeRegister((int) offset, Byte.toUnsignedInt(data[0]));
    }

    private int readRegister(int offset) {
        boolean dlab = (lcr & LCR_DLAB) != 0;
        return switch (offset) {
            case DATA -> dlab ? divisorLow : receive();
            case IER -> dlab ? divisorHigh : ier;
            case IIR_FCR -> interruptIdentification();
            case LCR -> lcr;
            case MCR -> mcr;
            case LSR -> (rx.isEmpty() ? 0 : LSR_DATA_READY) | LSR_THR_EMPTY | LSR_TRANSMITTER_EMPTY;
            case MSR -> modemStatus();
            case SCR -> scr;
            default -> 0;
        };
    }

    private void writeRegister(int offset, int value) {
        boolean dlab = (lcr & LCR_DLAB) != 0;
        switch (offset) {
            case DATA -> {
                if (dlab) {
                    divisorLow = value;
                } else {
                    transmit(value);
                }
            }
            case IER -> {
                if (dlab) {
                    divisorHigh = value;
                } else {
                    setInterruptEnable(value);
                }
            }
            case IIR_FCR -> fifoEnabled = (value & FCR_FIFO_ENABLE) != 0;
            case LCR -> lcr = value;
            case MCR -> mcr = value;
            case SCR -> scr = value;
            default -> { // LSR and MSR are read-only
            }
        }
    }

    private void transmit(int value) {
        if ((mcr & MCR_LOOPBACK) != 0) {
            if (rx.size() < RX_FIFO_CAPACITY) {
                rx.add((byte) value);
            }
            if ((ier & IER_RX_DATA) != 0) {
                irq.trigger();
            }
        } else {
            log.append((byte) value);
        }
        // The byte left the holding register at once, so it is empty again.
        raiseThrEmpty();
    }

    private int receive() {
        Byte b = rx.poll();
        return b == null ? 0 : Byte.toUnsignedInt(b);
    }

    private void setInterruptEnable(int value) {
        boolean enablingThrEmpty = (value & IER_THR_EMPTY) != 0 && (ier & IER_THR_EMPTY) == 0;
        ier = value & IER_MASK;
        // A 16550 interrupts as soon as THRE is enabled with an empty holding register; Linux's TX start relies on it.
        if (enablingThrEmpty) {
            raiseThrEmpty();
        }
        if ((ier & IER_RX_DATA) != 0 && !rx.isEmpty()) {
            irq.trigger();
        }
    }

    private void raiseThrEmpty() {
        if ((ier & IER_THR_EMPTY) != 0) {
            thrEmptyPending = true;
            irq.trigger();
        }
    }

    /** Highest-priority pending interrupt; reading it acknowledges a THR-empty interrupt. */
    private int interruptIdentification() {
        int fifoBits = fifoEnabled ? IIR_FIFO_ENABLED : 0;
        if ((ier & IER_RX_DATA) != 0 && !rx.isEmpty()) {
            return IIR_RX_DATA | fifoBits;
        }
        if ((ier & IER_THR_EMPTY) != 0 && thrEmptyPending) {
            thrEmptyPending = false;
            return IIR_THR_EMPTY | fifoBits;
        }
        return IIR_NONE | fifoBits;
    }

    /** Lines are always up; in loopback the outputs DTR, RTS, OUT1, OUT2 appear as DSR, CTS, RI, DCD. */
    private int modemStatus() {
        if ((mcr & MCR_LOOPBACK) == 0) {
            return MSR_DCD | MSR_DSR | MSR_CTS;
        }
        return ((mcr & 0x01) != 0 ? MSR_DSR : 0) | ((mcr & 0x02) != 0 ? MSR_CTS : 0)
                | ((mcr & 0x04) != 0 ? MSR_RI : 0) | ((mcr & 0x08) != 0 ? MSR_DCD : 0);
    }
}
