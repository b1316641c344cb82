package dev.sandbox.engine.vmm.devices.legacy;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;

class Serial8250Test {
    private final ConsoleLog log = new ConsoleLog();
    private final AtomicInteger interrupts = new AtomicInteger();
    private final Serial8250 serial = new Serial8250(log, interrupts::incrementAndGet);

    private int in(int offset) {
        byte[] data = new byte[1];
        serial.read(offset, data);
        return Byte.toUnsignedInt(data[0]);
    }

    private void out(int offset, int value) {
        serial.write(offset, new byte[] {(byte) value});
    }

    @Test
    void transmittedBytesReachTheLog() {
        for (byte b : "hello\n".getBytes()) {
            out(Serial8250.DATA, b);
        }
        assertEquals("hello\n", log.tail());
        assertEquals(0, interrupts.get()); // interrupts not enabled
    }

    @Test
    void lineStatusShowsAnEmptyTransmitterAndReceivedData() {
        assertEquals(0x60, in(Serial8250.LSR));
        assertEquals(2, serial.enqueueInput(new byte[] {'o', 'k'}));
        assertEquals(0x61, in(Serial8250.LSR));
        assertEquals('o', in(Serial8250.DATA));
        assertEquals('k', in(Serial8250.DATA));
        assertEquals(0x60, in(Serial8250.LSR));
    }

    @Test
    void thrEmptyInterruptIsRaisedAndAcknowledgedByReadingIir() {
        assertEquals(0x01, in(Serial8250.IIR_FCR));
        out(Serial8250.IER, Serial8250.IER_THR_EMPTY);
        assertEquals(1, interrupts.get()); // enabling THRE with an empty THR interrupts at once
        assertEquals(0x02, in(Serial8250.IIR_FCR));
        assertEquals(0x01, in(Serial8250.IIR_FCR)); // read acknowledged it
        out(Serial8250.DATA, 'x');
        assertEquals(2, interrupts.get());
        out(Serial8250.IIR_FCR, 0x07); // FIFO on
        assertEquals(0xc2, in(Serial8250.IIR_FCR));
    }

    @Test
    void receivedDataInterruptHasPriorityUntilDrained() {
        out(Serial8250.IER, Serial8250.IER_RX_DATA | Serial8250.IER_THR_EMPTY);
        serial.enqueueInput(new byte[] {'a'});
        assertEquals(2, interrupts.get());
        assertEquals(0x04, in(Serial8250.IIR_FCR));
        in(Serial8250.DATA);
        assertEquals(0x02, in(Serial8250.IIR_FCR));
    }

    @Test
    void divisorLatchSharesTheDataAndIerPorts() {
        out(Serial8250.LCR, 0x80);
        out(Serial8250.DATA, 0x01);
        out(Serial8250.IER, 0x02);
        assertEquals(0x01, in(Serial8250.DATA));
        assertEquals(0x02, in(Serial8250.IER));
        out(Serial8250.LCR, 0x03);
        assertEquals(0, in(Serial8250.IER));
        assertEquals("", log.tail());
        out(Serial8250.SCR, 0x5a);
        assertEquals(0x5a, in(Serial8250.SCR));
    }

    @Test
    void loopbackPassesTheLinuxProbe() {
        assertEquals(0xb0, in(Serial8250.MSR));
        out(Serial8250.MCR, Serial8250.MCR_LOOPBACK | 0x0a);
        assertEquals(0x90, in(Serial8250.MSR) & 0xf0);
        out(Serial8250.DATA, 'z');
        assertEquals('z', in(Serial8250.DATA));
        assertEquals("", log.tail());
    }

    @Test
    void receiveFifoIsBounded() {
        assertEquals(Serial8250.RX_FIFO_CAPACITY, serial.enqueueInput(new byte[1000]));
        assertEquals(0, serial.enqueueInput(new byte[1]));
    }

    @Test
    void wideAccessesAreIgnored() {
        byte[] wide = {1, 2};
        serial.write(0, wide);
        serial.read(5, wide);
        assertEquals("", log.tail());
        assertEquals(1, wide[0]);
    }
}
