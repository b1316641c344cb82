package dev.sandbox.jmh;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One QEMU migration stream received on a unix socket ({@code migrate unix:PATH}) and written to a file: done when
 * QEMU has closed the stream and every byte is in the file. Not {@code exec:cat > FILE}: QEMU closes an exec
 * channel by sending its command SIGTERM if it has not exited yet, which can cut the last buffer off the file, and
 * it says "completed" before cat has written it.
 */
final class MigrationSink implements AutoCloseable {
    private final Path socket;
    private final ServerSocketChannel server;
    private final CompletableFuture<Long> written = new CompletableFuture<>();

    private MigrationSink(Path socket, ServerSocketChannel server, Path file) {
        this.socket = socket;
        this.server = server;
        Thread.ofVirtual().name("migration-sink").start(() -> receive(file));
    }

    static MigrationSink listen(Path socket, Path file) throws IOException {
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(socket));
            return new MigrationSink(socket, server, file);
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
    }

    /** What {@code migrate} sends to. */
    String uri() {
        return "unix:" + socket;
    }

    /** Waits until the whole stream is in the file; returns its size. */
    long await(Duration timeout) throws IOException, InterruptedException {
        try {
            return written.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IOException("receiving the migration stream failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException("the migration stream did not end in " + timeout, e);
        }
    }

    private void receive(Path file) {
        try (SocketChannel in = server.accept();
             FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            long total = 0;
            while (in.read(buf) >= 0) {
                buf.flip();
                while (buf.hasRemaining()) {
                    total += out.write(buf);
                }
                buf.clear();
            }
            written.complete(total);
        } catch (IOException | RuntimeException e) {
            written.completeExceptionally(e);
        }
    }

    @Override
    public void close() throws IOException {
        written.completeExceptionally(new IOException("closed")); // no-op once complete
        server.close();
        Files.deleteIfExists(socket);
    }
}
