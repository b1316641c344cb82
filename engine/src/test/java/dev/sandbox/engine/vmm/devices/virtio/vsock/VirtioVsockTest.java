package dev.sandbox.engine.vmm.devices.virtio.vsock;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VirtioVsockTest {
    private static final int AGENT_PORT = 1024;
    private final VsockGuest guest = new VsockGuest();
    /** Host-side blocking calls run here: the common pool may have a single thread on a 2-core machine. */
    private final ExecutorService host = Executors.newVirtualThreadPerTaskExecutor();

    @AfterEach
    void stopHostThreads() {
        host.shutdownNow();
    }

    /** Connects from a host thread while the guest accepts with the given buffer size. */
    private VsockChannel connect(int guestPort, int guestBufAlloc) throws Exception {
        CompletableFuture<VsockChannel> channel = CompletableFuture.supplyAsync(() -> {
            try {
                return guest.device.connect(guestPort, Duration.ofSeconds(5));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, host);
        VsockGuest.Packet request = guest.await(p -> p.op() == VsockHeader.OP_REQUEST
                && p.header().dstPort() == guestPort);
        VsockHeader h = request.header();
        guest.send(new VsockHeader(VsockGuest.CID, 2, guestPort, h.srcPort(), 0, VsockHeader.TYPE_STREAM,
                VsockHeader.OP_RESPONSE, 0, guestBufAlloc, 0), new byte[0]);
        return channel.get(5, TimeUnit.SECONDS);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void headerEncodesAtTheSpecOffsets() {
        VsockHeader h = new VsockHeader(2, 3, 0x4000_0000, 1024, 5, 1, 5, 3, 0x40000, 7);
        byte[] bytes = h.encode();
        assertEquals(44, bytes.length);
        assertEquals(2, bytes[0]);
        assertEquals(3, bytes[8]);
        assertEquals(0x40, bytes[19]);
        assertEquals(4, bytes[21]); // 1024 = 0x400
        assertEquals(5, bytes[24]);
        assertEquals(1, bytes[28]);
        assertEquals(5, bytes[30]);
        assertEquals(3, bytes[32]);
        assertEquals(4, bytes[38]);
        assertEquals(7, bytes[40]);
        assertEquals(h, VsockHeader.decode(bytes));
    }

    @Test
    void configSpaceHoldsTheGuestCid() {
        byte[] cid = new byte[8];
        guest.device.readConfig(0, cid);
        assertEquals(3, cid[0]);
        byte[] high = new byte[4];
        guest.device.readConfig(4, high);
        assertArrayEquals(new byte[4], high);
    }

    @Test
    void hostConnectsWithRequestAndResponse() throws Exception {
        guest.postRx(8);
        VsockChannel channel = connect(AGENT_PORT, 64 * 1024);
        assertEquals(AGENT_PORT, channel.guestPort());
        assertTrue(channel.isOpen());
        assertTrue(Integer.compareUnsigned(channel.hostPort(), 1024) > 0);
    }

    @Test
    void describeShowsQueuesAndEachConnectionsCredit() throws Exception {
        guest.postRx(8);
        VsockChannel channel = connect(AGENT_PORT, 64 * 1024);
        channel.write(ByteBuffer.wrap(ascii("hello")));
        guest.await(p -> p.op() == VsockHeader.OP_RW);
        String d = guest.device.describe();
        assertTrue(d.contains("rx queue: avail idx"), d);
        assertTrue(d.contains("guest port " + AGENT_PORT + " ESTABLISHED"), d);
        assertTrue(d.contains("5 accepted, peer buf 65536 fwd 0, credit 65531"), d);
    }

    @Test
    void requestCarriesHostAddressAndCredit() throws Exception {
        guest.postRx(8);
        CompletableFuture.runAsync(() -> {
            try {
                guest.device.connect(AGENT_PORT, Duration.ofSeconds(5));
            } catch (IOException ignored) {
                // the test only inspects the request
            }
        }, host);
        VsockHeader h = guest.await(VsockHeader.OP_REQUEST).header();
        assertEquals(2, h.srcCid());
        assertEquals(3, h.dstCid());
        assertEquals(AGENT_PORT, h.dstPort());
        assertEquals(VsockHeader.TYPE_STREAM, h.type());
        assertEquals(256 * 1024, h.bufAlloc());
        assertEquals(0, h.len());
    }

    @Test
    void dataFlowsBothWays() throws Exception {
        guest.postRx(8);
        VsockChannel channel = connect(AGENT_PORT, 64 * 1024);
        assertEquals(5, channel.write(ByteBuffer.wrap(ascii("hello"))));
        VsockGuest.Packet rw = guest.await(VsockHeader.OP_RW);
        assertArrayEquals(ascii("hello"), rw.payload());
        assertEquals(5, rw.header().len());

        guest.send(VsockHeader.OP_RW, channel, ascii("world"), 5);
        ByteBuffer in = ByteBuffer.allocate(16);
        assertEquals(5, channel.read(in));
        assertEquals("world", new String(in.array(), 0, 5, StandardCharsets.US_ASCII));
    }

    @Test
    void largeWritesAreSplitIntoRxBufferSizedPackets() throws Exception {
        guest.postRx(32);
        VsockChannel channel = connect(AGENT_PORT, 256 * 1024);
        byte[] big = new byte[100_000];
        Arrays.fill(big, (byte) 'x');
        channel.write(ByteBuffer.wrap(big));
        int received = 0;
        while (received < big.length) {
            VsockGuest.Packet p = guest.await(VsockHeader.OP_RW);
            assertTrue(p.payload().length <= 4096);
            received += p.payload().length;
        }
        assertEquals(big.length, received);
    }

    @Test
    void hostWriterWaitsForTheGuestsCredit() throws Exception {
        guest.postRx(8);
        VsockChannel channel = connect(AGENT_PORT, 8);
        CompletableFuture<Integer> writer = CompletableFuture.supplyAsync(() -> {
            try {
                return channel.write(ByteBuffer.wrap(ascii("0123456789abcdefghij")));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, host);
        assertArrayEquals(ascii("01234567"), guest.await(VsockHeader.OP_RW).payload());
        Thread.sleep(50);
        assertFalse(writer.isDone()); // out of credit
        guest.send(VsockHeader.OP_CREDIT_UPDATE, channel, new byte[0], 8); // guest consumed 8: fwd_cnt 8
        // ...but the guest header also says buf_alloc 256 KiB now, so the rest flows
        assertArrayEquals(ascii("89abcdefghij"), guest.await(VsockHeader.OP_RW).payload());
        assertEquals(20, writer.get(5, TimeUnit.SECONDS));
    }

    @Test
    void guestCreditIsEnforcedAndRefreshedAsTheHostReads() throws Exception {
        guest.postRx(8);
        VsockChannel channel = connect(AGENT_PORT, 64 * 1024);
        byte[] chunk = new byte[VirtioVsock.MAX_PAYLOAD];
        int sent = 0;
        for (int i = 0; i < 4; i++) { // exactly the 256 KiB buf_alloc we advertised
            guest.send(VsockHeader.OP_RW, channel, chunk, 0);
            sent += chunk.length;
        }
        ByteBuffer in = ByteBuffer.allocate(VirtioVsock.BUF_ALLOC);
        while (in.hasRemaining()) {
            channel.read(in);
        }
        VsockGuest.Packet update = guest.await(VsockHeader.OP_CREDIT_UPDATE);
        assertEquals(sent, update.header().fwdCnt());

        // Beyond the credit: the device resets the connection rather than buffer without bound.
        for (int i = 0; i < 5; i++) {
            guest.send(VsockHeader.OP_RW, channel, chunk, 0);
        }
        guest.await(VsockHeader.OP_RST);
        in.clear();
        while (true) {
            try {
                channel.read(in.clear());
            } catch (IOException e) {
                assertTrue(e.getMessage().contains("reset"));
                break;
            }
        }
    }

    @Test
    void creditRequestGetsAnUpdate() throws Exception {
        guest.postRx(8);
        VsockChannel channel = connect(AGENT_PORT, 64 * 1024);
        guest.send(VsockHeader.OP_CREDIT_REQUEST, channel, new byte[0], 0);
        VsockHeader update = guest.await(VsockHeader.OP_CREDIT_UPDATE).header();
        assertEquals(VirtioVsock.BUF_ALLOC, update.bufAlloc());
        assertEquals(channel.guestPort(), update.dstPort());
    }

    @Test
    void hostCloseSendsShutdownAfterPendingDataAndTheGuestsRstEndsIt() throws Exception {
        VsockChannel channel = connectWithBuffers();
        guest.drain();
        channel.write(ByteBuffer.wrap(ascii("bye")));
        channel.close();
        assertFalse(channel.isOpen());
        List<VsockGuest.Packet> packets = new ArrayList<>(List.of(guest.await(VsockHeader.OP_RW)));
        packets.add(guest.await(VsockHeader.OP_SHUTDOWN));
        assertEquals(VsockHeader.SHUTDOWN_RCV | VsockHeader.SHUTDOWN_SEND, packets.get(1).header().flags());
        assertThrows(java.nio.channels.ClosedChannelException.class, () -> channel.read(ByteBuffer.allocate(1)));
        guest.send(VsockHeader.OP_RST, channel, new byte[0], 0);
        guest.send(VsockHeader.OP_RW, channel, ascii("late"), 0); // connection gone: answered with RST
        VsockHeader rst = guest.await(VsockHeader.OP_RST).header();
        assertEquals(channel.guestPort(), rst.dstPort());
        assertEquals(channel.hostPort(), rst.srcPort());
    }

    @Test
    void guestShutdownIsEndOfStreamAfterTheData() throws Exception {
        VsockChannel channel = connectWithBuffers();
        guest.send(VsockHeader.OP_RW, channel, ascii("last"), 0);
        guest.send(VsockGuest.header(VsockHeader.OP_SHUTDOWN, channel.guestPort(), channel.hostPort(), 0,
                VsockHeader.SHUTDOWN_RCV | VsockHeader.SHUTDOWN_SEND, 0), new byte[0]);
        ByteBuffer in = ByteBuffer.allocate(16);
        assertEquals(4, channel.read(in));
        assertEquals(-1, channel.read(in));
        assertThrows(IOException.class, () -> channel.write(ByteBuffer.wrap(ascii("x"))));
        guest.drain();
        channel.close(); // the guest has shut down both ways: RST completes the close
        guest.await(VsockHeader.OP_RST);
    }

    @Test
    void blockedReadIsWokenByClose() throws Exception {
        VsockChannel channel = connectWithBuffers();
        CompletableFuture<Integer> reader = CompletableFuture.supplyAsync(() -> {
            try {
                return channel.read(ByteBuffer.allocate(8));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, host);
        Thread.sleep(50);
        channel.close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> reader.get(5, TimeUnit.SECONDS));
        assertInstanceOf(java.nio.channels.AsynchronousCloseException.class, e.getCause().getCause());
    }

    @Test
    void unknownPortsGetRst() throws Exception {
        guest.postRx(4);
        guest.send(VsockGuest.header(VsockHeader.OP_REQUEST, 5555, 80, 0, 0, 0), new byte[0]);
        VsockHeader rst = guest.await(VsockHeader.OP_RST).header();
        assertEquals(80, rst.srcPort());
        assertEquals(5555, rst.dstPort());
        assertEquals(3, rst.dstCid());
        guest.send(VsockGuest.header(VsockHeader.OP_RST, 5555, 80, 0, 0, 0), new byte[0]);
        assertEquals(List.of(), guest.drain()); // never answer a RST
    }

    @Test
    void refusedAndUnansweredConnections() throws Exception {
        guest.postRx(8);
        CompletableFuture<VsockChannel> refused = CompletableFuture.supplyAsync(() -> {
            try {
                return guest.device.connect(7, Duration.ofSeconds(5));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, host);
        VsockHeader request = guest.await(VsockHeader.OP_REQUEST).header();
        guest.send(VsockGuest.header(VsockHeader.OP_RST, 7, request.srcPort(), 0, 0, 0), new byte[0]);
        ExecutionException e = assertThrows(ExecutionException.class, () -> refused.get(5, TimeUnit.SECONDS));
        assertInstanceOf(ConnectException.class, e.getCause().getCause());

        assertThrows(SocketTimeoutException.class, () -> guest.device.connect(8, Duration.ofMillis(20)));
    }

    @Test
    void manyConnectionsStaySeparate() throws Exception {
        guest.postRx(64);
        List<VsockChannel> channels = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            channels.add(connect(2000 + i, 64 * 1024));
        }
        for (VsockChannel channel : channels) {
            channel.write(ByteBuffer.wrap(ascii("to " + channel.guestPort())));
            guest.send(VsockHeader.OP_RW, channel, ascii("from " + channel.guestPort()), 0);
        }
        for (VsockChannel channel : channels) {
            VsockGuest.Packet p = guest.await(q -> q.op() == VsockHeader.OP_RW
                    && q.header().dstPort() == channel.guestPort());
            assertEquals("to " + channel.guestPort(), new String(p.payload(), StandardCharsets.US_ASCII));
            ByteBuffer in = ByteBuffer.allocate(64);
            int n = channel.read(in);
            assertEquals("from " + channel.guestPort(), new String(in.array(), 0, n, StandardCharsets.US_ASCII));
        }
    }

    @Test
    void transportResetEventDropsConnections() throws Exception {
        VsockChannel channel = connectWithBuffers();
        guest.device.sendTransportReset(); // no event buffer yet: delivered once one is posted
        assertEquals(List.of(), guest.events());
        guest.postEvent();
        assertEquals(List.of(0L), guest.events());
        assertThrows(IOException.class, () -> channel.read(ByteBuffer.allocate(1)));
    }

    @Test
    void hostilePacketsAreDroppedOrResetNeverThrown() throws Exception {
        VsockChannel channel = connectWithBuffers();
        guest.drain();
        // Wrong source CID: dropped silently.
        guest.send(new VsockHeader(99, 2, channel.guestPort(), channel.hostPort(), 0, 1, VsockHeader.OP_RW, 0, 0, 0),
                new byte[0]);
        // A header shorter than 44 bytes: dropped.
        guest.tx.add(guest.tx.readable(new byte[10]));
        guest.driver.notifyQueue(VirtioVsock.TX_QUEUE);
        assertEquals(List.of(), guest.drain());
        // A length beyond the buffer: the connection is reset.
        guest.send(VsockGuest.header(VsockHeader.OP_RW, channel.guestPort(), channel.hostPort(), 1 << 30, 0, 0),
                new byte[8]);
        guest.await(VsockHeader.OP_RST);
        assertThrows(IOException.class, () -> channel.read(ByteBuffer.allocate(1)));
    }

    @Test
    void aDescriptorLoopFailsTheDeviceAndItsConnections() throws Exception {
        VsockChannel channel = connectWithBuffers();
        guest.tx.descriptor(100, 0x3000, 64, 1 /* NEXT */, 100);
        guest.tx.publish(100);
        guest.driver.notifyQueue(VirtioVsock.TX_QUEUE);
        assertTrue(guest.transport.failure().contains("loop"));
        assertThrows(IOException.class, () -> channel.read(ByteBuffer.allocate(1)));
        assertThrows(IOException.class, () -> guest.device.connect(AGENT_PORT, Duration.ofMillis(10)));
    }

    private VsockChannel connectWithBuffers() throws Exception {
        guest.postRx(8);
        return connect(AGENT_PORT, 64 * 1024);
    }

    // ---- a connection kept through a snapshot ----

    @Test
    void detachSendsBlockedCallsAwayAndLeavesTheStreamOpen() throws Exception {
        VsockChannel channel = connectWithBuffers();
        CompletableFuture<Integer> reading = CompletableFuture.supplyAsync(() -> {
            try {
                return channel.read(ByteBuffer.allocate(8));
            } catch (IOException e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        }, host);
        Thread.sleep(50);
        guest.device.detachHostChannels();
        ExecutionException e = assertThrows(ExecutionException.class, () -> reading.get(5, TimeUnit.SECONDS));
        assertInstanceOf(ChannelDetachedException.class, e.getCause());
        assertThrows(ChannelDetachedException.class, () -> channel.write(ByteBuffer.wrap(ascii("x"))));
        assertFalse(channel.isOpen());
        guest.drain();
        assertTrue(guest.drain().stream().noneMatch(p -> p.op() == VsockHeader.OP_SHUTDOWN
                || p.op() == VsockHeader.OP_RST), "the guest hears nothing: its socket stays connected");

        // the guest's bytes after the detach wait for whoever takes the stream up
        guest.send(VsockHeader.OP_RW, channel, ascii("later"), 0);
        VsockChannel again = guest.device.reattach(channel.hostPort(), AGENT_PORT);
        ByteBuffer in = ByteBuffer.allocate(16);
        assertEquals(5, again.read(in));
        assertEquals("later", new String(in.array(), 0, 5, StandardCharsets.US_ASCII));
        assertEquals(1, guest.device.metrics().reattached());
    }

    @Test
    void aRestoredDeviceCarriesTheStreamOnWithItsBytesAndCreditAndNoReset() throws Exception {
        VsockChannel channel = connectWithBuffers();
        guest.send(VsockHeader.OP_RW, channel, ascii("unread by the host"), 0);
        guest.device.detachHostChannels();
        guest.drain();

        VirtioVsock restored = guest.restoreIntoNewDevice(true);
        VsockChannel back = restored.reattach(AGENT_PORT);
        assertEquals(channel.hostPort(), back.hostPort(), "same ports: the guest's socket knows only these");
        ByteBuffer in = ByteBuffer.allocate(64);
        assertEquals(18, back.read(in));
        assertEquals("unread by the host", new String(in.array(), 0, 18, StandardCharsets.US_ASCII));
        assertEquals(5, back.write(ByteBuffer.wrap(ascii("hello"))));
        VsockGuest.Packet rw = guest.await(VsockHeader.OP_RW);
        assertArrayEquals(ascii("hello"), rw.payload());
        assertEquals(channel.hostPort(), rw.header().srcPort());
        assertEquals(0, restored.metrics().transportResets());
        assertEquals(0, restored.metrics().hostConnects());
        assertEquals(1, restored.metrics().connectionsRestored());
        assertEquals(List.of(), guest.events(), "no transport reset event");

        // a new connection does not take the kept one's host port
        VsockChannel other = connect(AGENT_PORT, 64 * 1024);
        assertTrue(other.hostPort() != back.hostPort());
    }

    @Test
    void hostBytesTheGuestHadNoRoomForAreSentAfterTheRestore() throws Exception {
        guest.postRx(1);
        VsockChannel channel = connect(AGENT_PORT, 64 * 1024);
        guest.drain(); // the RESPONSE's RX buffer is re-posted: one buffer left, take it with a first write
        channel.write(ByteBuffer.wrap(ascii("first")));
        channel.write(ByteBuffer.wrap(ascii("second"))); // no RX buffer: stays in the device
        guest.device.detachHostChannels();
        VirtioVsock restored = guest.restoreIntoNewDevice(true);
        restored.reattach(AGENT_PORT);
        guest.postRx(4);
        StringBuilder got = new StringBuilder();
        while (!got.toString().endsWith("second")) {
            got.append(new String(guest.await(VsockHeader.OP_RW).payload(), StandardCharsets.US_ASCII));
        }
        assertTrue(got.toString().endsWith("second"), got.toString());
    }

    @Test
    void aDeviceRestoredWithoutConnectionsAnswersTheOldStreamWithRst() throws Exception {
        VsockChannel channel = connectWithBuffers();
        guest.device.detachHostChannels();
        VirtioVsock restored = guest.restoreIntoNewDevice(false);
        assertThrows(IOException.class, () -> restored.reattach(AGENT_PORT));
        guest.send(VsockHeader.OP_RW, channel, ascii("stale"), 0);
        assertEquals(VsockHeader.OP_RST, guest.await(p -> p.header().dstPort() == channel.guestPort()).op());
    }

    @Test
    void closedAndHalfOpenConnectionsAreNotKept() throws Exception {
        VsockChannel closed = connectWithBuffers();
        closed.close();
        VsockChannel open = connect(AGENT_PORT + 1, 64 * 1024);
        VsockState state = guest.device.state();
        assertEquals(1, state.streams().size());
        assertEquals(open.hostPort(), state.streams().getFirst().hostPort());
    }

    @Test
    void savedStateThatCouldNotBeTheDevicesIsRefused() {
        byte[] none = new byte[0];
        assertThrows(IllegalArgumentException.class, () -> new VsockState.Stream(VirtioVsock.FIRST_HOST_PORT, 1,
                0, 0, 0, 10, 0, 0, false, false, false, none, new byte[3])); // 10 received, 0 read, 3 buffered
        assertThrows(IllegalArgumentException.class, () -> new VsockState.Stream(5, 1, 0, 0, 0, 0, 0, 0, false,
                false, false, none, none)); // a host port below the host range
        assertThrows(IllegalArgumentException.class, () -> new VsockState.Stream(VirtioVsock.FIRST_HOST_PORT, 1,
                0, 0, 0, 0, 0, 0, false, false, false, new byte[VirtioVsock.TO_GUEST_BUFFER + 1], none));
        VsockState.Stream s = new VsockState.Stream(VirtioVsock.FIRST_HOST_PORT, 1, 0, 0, 0, 0, 0, 0, false, false,
                false, none, none);
        assertThrows(IllegalArgumentException.class, () -> new VsockState(VirtioVsock.FIRST_HOST_PORT, List.of(s, s)));
        assertThrows(IllegalArgumentException.class, () -> new VsockState(7, List.of()));
    }
}
