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

    /**
     * Writers racing a close must never write into whatever file reuses the closed number: each round closes the
     * eventfd under four writers and opens a new one at once (the kernel hands out the lowest free number).
     */
    @Test
    void aWriteRacingCloseNeverLandsInAReusedFd() throws InterruptedException {
        for (int round = 0; round < 200; round++) {
            EventFd victim = EventFd.create(true);
            java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(4);
            java.util.List<Thread> writers = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                writers.add(Thread.ofPlatform().start(() -> {
                    started.countDown();
                    try {
                        while (true) {
                            victim.write(1);
                        }
                    } catch (IllegalStateException closed) {
                        // expected once closed
                    }
                }));
            }
            started.await();
            victim.close();
            try (EventFd next = EventFd.create(true)) {
                for (Thread t : writers) {
                    t.join();
                }
                assertEquals(0, next.read(), "round " + round + ": a write went into the fd that reused the number");
            }
        }
    }
}
