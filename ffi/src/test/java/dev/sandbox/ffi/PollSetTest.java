package dev.sandbox.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class PollSetTest {
    @Test
    void reportsExactlyTheReadableEventFds() {
        try (EventFd a = EventFd.create(true); EventFd b = EventFd.create(true); EventFd c = EventFd.create(true);
             PollSet set = new PollSet(List.of(a, b, c))) {
            assertEquals(0, set.await(0), "nothing written yet");
            b.write(1);
            c.write(5);
            assertEquals(2, set.await(1000));
            assertFalse(set.readable(0));
            assertTrue(set.readable(1));
            assertTrue(set.readable(2));
            assertFalse(set.failed(1));
            assertEquals(1, b.read());
            assertEquals(5, c.read());
            assertEquals(0, set.await(0), "read resets the counters");
            assertFalse(set.readable(1));
        }
    }

    @Test
    void aWriteFromAnotherThreadWakesAWaiter() throws Exception {
        try (EventFd wake = EventFd.create(true); PollSet set = new PollSet(List.of(wake))) {
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(30);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                wake.write(1);
            });
            int ready = 0;
            for (int i = 0; i < 100 && ready == 0; i++) {
                ready = set.await(5000); // 0 also on EINTR: wait again
            }
            writer.join();
            assertEquals(1, ready);
            assertTrue(set.readable(0));
        }
    }

    @Test
    void pollsAnyPollableBesideEventFds() {
        try (EventFd a = EventFd.create(true); EventFd b = EventFd.create(true)) {
            Pollable plain = b::fd; // a descriptor some other owner holds, e.g. a TAP
            try (PollSet set = new PollSet(List.of(a, plain))) {
                b.write(1);
                assertEquals(1, set.await(1000));
                assertFalse(set.readable(0));
                assertTrue(set.readable(1));
            }
        }
    }

    @Test
    void aClosedDescriptorIsReportedAsFailed() {
        EventFd gone = EventFd.create(true);
        try (PollSet set = new PollSet(List.of(gone))) {
            gone.close();
            assertEquals(1, set.await(0));
            assertTrue(set.failed(0), "POLLNVAL");
        }
    }
}
