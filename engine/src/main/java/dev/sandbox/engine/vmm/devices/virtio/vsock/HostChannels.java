package dev.sandbox.engine.vmm.devices.virtio.vsock;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The host's blocking end of each connection, what {@link VsockChannel} calls: connect, read, write and close
 * wait on the device's lock and condition for the guest's packets, which the device routes through the
 * {@link VsockMuxer}.
 */
final class HostChannels {
    private final ReentrantLock lock;
    private final Condition changed;
    private final VsockMuxer muxer;
    private final java.util.function.BooleanSupplier active;

    HostChannels(ReentrantLock lock, Condition changed, VsockMuxer muxer, java.util.function.BooleanSupplier active) {
        this.lock = lock;
        this.changed = changed;
        this.muxer = muxer;
        this.active = active;
    }

    VsockChannel connect(VirtioVsock device, int guestPort, Duration timeout) throws IOException {
        lock.lock();
        try {
            if (!active.getAsBoolean()) {
                throw new IOException("vsock device is not active");
            }
            Connection connection = muxer.open(guestPort);
            long nanos = timeout.toNanos();
            while (connection.state == Connection.State.CONNECTING) {
                if (nanos <= 0) {
                    muxer.terminate(connection, true);
                    throw new SocketTimeoutException("guest vsock port " + guestPort + " did not answer in " + timeout);
                }
                try {
                    nanos = changed.awaitNanos(nanos);
                } catch (InterruptedException e) {
                    muxer.terminate(connection, true);
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted connecting to guest vsock port " + guestPort);
                }
            }
            if (connection.reset) {
                throw new ConnectException("guest refused vsock port " + guestPort);
            }
            return new VsockChannel(device, connection);
        } finally {
            lock.unlock();
        }
    }

    int read(Connection connection, ByteBuffer destination) throws IOException {
        lock.lock();
        try {
            if (!destination.hasRemaining()) {
                return 0;
            }
            boolean waited = false;
            while (true) {
                if (connection.hostClosed) {
                    throw waited ? new AsynchronousCloseException() : new ClosedChannelException();
                }
                if (connection.detached) {
                    throw new ChannelDetachedException(connection.guestPort);
                }
                if (!connection.fromGuest.isEmpty()) {
                    int n = connection.fromGuest.take(destination);
                    connection.forwardedCount += n;
                    if (connection.state == Connection.State.ESTABLISHED && connection.creditUpdateNeeded()) {
                        connection.creditUpdatePending = true;
                        muxer.queueForRx(connection);
                    }
                    return n;
                }
                if (connection.peerSendShutdown) {
                    return -1;
                }
                if (connection.reset) {
                    throw new IOException("vsock connection to guest port " + connection.guestPort + " was reset");
                }
                awaitChange(connection);
                waited = true;
            }
        } finally {
            lock.unlock();
        }
    }

    int write(Connection connection, ByteBuffer source) throws IOException {
        lock.lock();
        try {
            int written = 0;
            boolean waited = false;
            while (source.hasRemaining()) {
                if (connection.hostClosed) {
                    throw waited ? new AsynchronousCloseException() : new ClosedChannelException();
                }
                if (connection.detached) {
                    throw new ChannelDetachedException(connection.guestPort);
                }
                if (connection.reset || connection.peerReceiveShutdown
                        || connection.state != Connection.State.ESTABLISHED) {
                    throw new IOException("guest vsock port " + connection.guestPort + " no longer receives");
                }
                int n = Math.min(source.remaining(), connection.hostCredit());
                if (n == 0) {
                    awaitChange(connection);
                    waited = true;
                    continue;
                }
                connection.toGuest.put(source, n);
                connection.acceptedCount += n;
                written += n;
                muxer.queueForRx(connection);
            }
            return written;
        } finally {
            lock.unlock();
        }
    }

    boolean isOpen(Connection connection) {
        lock.lock();
        try {
            return !connection.hostClosed && !connection.detached;
        } finally {
            lock.unlock();
        }
    }

    /** Closes the host end: SHUTDOWN after the data still queued, or RST if the guest already shut down both ways. */
    void close(Connection connection) {
        lock.lock();
        try {
            if (connection.hostClosed) {
                return;
            }
            connection.hostClosed = true;
            if (connection.state == Connection.State.ESTABLISHED) {
                if (connection.peerSendShutdown && connection.peerReceiveShutdown) {
                    muxer.terminate(connection, true);
                } else {
                    connection.shutdownPending = VsockHeader.SHUTDOWN_RCV | VsockHeader.SHUTDOWN_SEND;
                    muxer.queueForRx(connection);
                }
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void awaitChange(Connection connection) throws IOException {
        try {
            changed.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close(connection); // the channel contract: an interrupted blocking call closes the channel
            throw new ClosedByInterruptException();
        }
    }
}
