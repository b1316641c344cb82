package dev.sandbox.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class EventFdTest {
    @Test
    void writesAddUpAndReadResets() {
        try (EventFd fd = EventFd.create(true)) {
            fd.write(3);
            fd.write(4);
            assertEquals(7, fd.read());
            assertEquals(0, fd.read(), "non-blocking read of an empty counter");
        }
    }

    @Test
    void blockingReadWaitsForAWriter() throws Exception {
        try (EventFd fd = EventFd.create(false)) {
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                fd.write(1);
            });
            assertEquals(1, fd.read());
            writer.join();
        }
    }

    @Test
    void closedFdIsRejected() {
        EventFd fd = EventFd.create(true);
        fd.close();
        fd.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> fd.write(1));
    }
}
