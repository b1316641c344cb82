package dev.sandbox.engine.vmm.devices.virtio.net;

import dev.sandbox.ffi.NativeException;
import dev.sandbox.ffi.Pollable;
import dev.sandbox.ffi.net.Tap;

import java.lang.foreign.MemorySegment;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link NetBackend} over a TAP: packets pass through unchanged, since the TAP reads and writes the same
 * {@code virtio_net_hdr_v1} and frame as the device. The TAP is opened non-blocking by the caller (in the sandbox's
 * network namespace) and owned by this backend from {@link #over} on.
 *
 * <p>Offloads stay off (TUNSETOFFLOAD 0): the kernel hands over only complete, checksummed frames, matching the
 * device, which offers the guest no offload yet.
 */
public final class TapBackend implements NetBackend {
    private static final System.Logger LOG = System.getLogger(TapBackend.class.getName());

    private final Tap tap;
    private final AtomicLong sendsRefused = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicBoolean errorLogged = new AtomicBoolean();

    private TapBackend(Tap tap) {
        this.tap = tap;
    }

    /**
     * Takes {@code tap} and sets its header size to {@link NetHeader#SIZE} and its offloads off. The tap is
     * closed if that fails, so it is never left without an owner.
     */
    public static TapBackend over(Tap tap) {
        try {
            tap.setVnetHeaderSize(NetHeader.SIZE);
            tap.setOffload(0);
            return new TapBackend(tap);
        } catch (RuntimeException | Error e) {
            tap.close();
            throw e;
        }
    }

    /** The interface's name, as the kernel reports it. */
    public String interfaceName() {
        return tap.name();
    }

    @Override
    public int receive(MemorySegment buffer) {
        try {
            return tap.read(buffer);
        } catch (NativeException | IllegalStateException e) {
            failed("read", e);
            return -1;
        }
    }

    @Override
    public boolean send(MemorySegment packet) {
        try {
            if (tap.write(packet)) {
                return true;
            }
            sendsRefused.incrementAndGet(); // EAGAIN: the interface's queue is full; the device drops the packet
            return false;
        } catch (NativeException | IllegalStateException e) {
            failed("write", e);
            return false;
        }
    }

    /** Packets the TAP would not take at once (EAGAIN), each dropped. */
    public long sendsRefused() {
        return sendsRefused.get();
    }

    /** Reads and writes that failed otherwise (the interface gone, a frame the kernel refused). */
    public long errors() {
        return errors.get();
    }

    @Override
    public Optional<Pollable> readiness() {
        return Optional.of(tap);
    }

    @Override
    public void close() {
        tap.close();
    }

    // Once per backend: a TAP whose interface vanished would otherwise log every packet.
    private void failed(String what, RuntimeException e) {
        errors.incrementAndGet();
        if (errorLogged.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.WARNING, "{0}: {1} failed, counted as a drop (logged once): {2}", tap, what,
                    e.getMessage());
        }
    }

    @Override
    public String toString() {
        return "TapBackend[" + tap.name() + "]";
    }
}
