package dev.sandbox.engine.vmm.devices.virtio.vsock;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;

/**
 * The host end of a vsock stream connection. Blocking: {@link #read} waits for data or the guest's end of stream (-1),
 * {@link #write} waits for credit until every byte is accepted. {@link #close} from another thread wakes blocked
 * calls with {@link java.nio.channels.AsynchronousCloseException}; a connection the guest reset fails with an
 * {@link IOException}.
 */
public final class VsockChannel implements ByteChannel {
    private final VirtioVsock device;
    private final Connection connection;

    VsockChannel(VirtioVsock device, Connection connection) {
        this.device = device;
        this.connection = connection;
    }

    public int guestPort() {
        return connection.guestPort;
    }

    public int hostPort() {
        return connection.hostPort;
    }

    @Override
    public int read(ByteBuffer destination) throws IOException {
        return device.read(connection, destination);
    }

    @Override
    public int write(ByteBuffer source) throws IOException {
        return device.write(connection, source);
    }

    @Override
    public boolean isOpen() {
        return device.isOpen(connection);
    }

    @Override
    public void close() {
        device.close(connection);
    }
}
