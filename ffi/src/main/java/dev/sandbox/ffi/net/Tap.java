package dev.sandbox.ffi.net;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.sandbox.ffi.CountedFd;
import dev.sandbox.ffi.Libc;
import dev.sandbox.ffi.LinuxAbi;
import dev.sandbox.ffi.Pollable;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * Owner of one TAP interface's file descriptor, opened non-blocking with {@code IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR}: every packet read or written is a virtio-net header followed by an Ethernet frame, the format a
 * virtio-net device already speaks, so packets pass between guest and TAP without translation. The interface lives
 * as long as the descriptor (it is not made persistent).
 */
public final class Tap implements Pollable, AutoCloseable {
    /** The flags every TAP of ours is created with. */
    public static final int FLAGS = TapAbi.IFF_TAP | TapAbi.IFF_NO_PI | TapAbi.IFF_VNET_HDR;
    /** The device node; it exists only where the tun module is loaded. */
    public static final String DEVICE = "/dev/net/tun";

    // What the kernel's dev_valid_name accepts, less whitespace, '/' and ':'; '%d' lets the kernel number it.
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.%-]{1," + (TapAbi.IFNAMSIZ - 1) + "}");
    private static final long NAME_OFFSET = TapAbi.ifreq.byteOffset(groupElement("ifr_name"));
    private static final long FLAGS_OFFSET = TapAbi.ifreq.byteOffset(groupElement("ifr_flags"));

    private final CountedFd fd;
    private final String name;

    private Tap(int fd, String name) {
        this.fd = new CountedFd(fd, "tap " + name);
        this.name = name;
    }

    /**
     * Creates (or attaches to) the TAP interface {@code name} in the calling thread's network namespace. An empty
     * name, or one with {@code %d}, lets the kernel pick ({@code tap0}, ...); {@link #name()} says which it chose.
     *
     * @throws IllegalArgumentException     for a name the kernel would refuse
     * @throws dev.sandbox.ffi.NativeException when the kernel refuses (EPERM without CAP_NET_ADMIN, ENOENT without
     *                                      {@value #DEVICE}, EINVAL when the name is taken by another kind of link)
     */
    public static Tap open(String name) {
        byte[] requested = checkedName(name);
        int fd = Libc.open(DEVICE, LinuxAbi.O_RDWR | LinuxAbi.O_NONBLOCK | LinuxAbi.O_CLOEXEC, 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ifr = arena.allocate(TapAbi.ifreq);
            MemorySegment.copy(requested, 0, ifr, JAVA_BYTE, NAME_OFFSET, requested.length);
            ifr.set(JAVA_SHORT, FLAGS_OFFSET, (short) FLAGS);
            Libc.ioctl(fd, TapAbi.TUNSETIFF.name(), TapAbi.TUNSETIFF.number(), ifr);
            return new Tap(fd, ifr.asSlice(NAME_OFFSET, TapAbi.IFNAMSIZ).getString(0, StandardCharsets.US_ASCII));
        } catch (RuntimeException | Error e) {
            try {
                Libc.close(fd);
            } catch (RuntimeException closeFailure) {
                e.addSuppressed(closeFailure);
            }
            throw e;
        }
    }

    private static byte[] checkedName(String name) {
        if (name == null) {
            throw new IllegalArgumentException("interface name is null (use \"\" to let the kernel choose)");
        }
        if (name.isEmpty()) {
            return new byte[0];
        }
        if (!NAME.matcher(name).matches() || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("not a valid interface name (1-15 of [A-Za-z0-9_.%-]): " + name);
        }
        return name.getBytes(StandardCharsets.US_ASCII);
    }

    /** The interface's name as the kernel reports it. */
    public String name() {
        return name;
    }

    /** The descriptor, for a {@link dev.sandbox.ffi.PollSet}: readable while a packet waits; owned by this object. */
    @Override
    public int fd() {
        return fd.fd();
    }

    /** TUNSETVNETHDRSZ: 12 for {@code virtio_net_hdr_v1} (the default is the 10-byte legacy header). */
    public void setVnetHeaderSize(int bytes) {
        int f = fd.acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment size = arena.allocate(JAVA_INT);
            size.set(JAVA_INT, 0, bytes);
            Libc.ioctl(f, TapAbi.TUNSETVNETHDRSZ.name(), TapAbi.TUNSETVNETHDRSZ.number(), size);
        } finally {
            fd.release();
        }
    }

    /**
     * TUNSETOFFLOAD: the {@code TUN_F_*} offloads we can take from the kernel (partial checksums, TSO); 0 makes the
     * kernel hand us only complete, checksummed frames.
     */
    public void setOffload(int tunFlags) {
        int f = fd.acquire();
        try {
            Libc.ioctl(f, TapAbi.TUNSETOFFLOAD.name(), TapAbi.TUNSETOFFLOAD.number(), Integer.toUnsignedLong(tunFlags));
        } finally {
            fd.release();
        }
    }

    /**
     * Reads one packet (virtio-net header, then the frame) into {@code buffer}, a native segment that should hold
     * the largest packet expected. Returns its length, or -1 when none is waiting.
     */
    public int read(MemorySegment buffer) {
        int f = fd.acquire();
        try {
            long n = Libc.read(f, buffer);
            return n == Libc.WOULD_BLOCK ? -1 : (int) n;
        } finally {
            fd.release();
        }
    }

    /**
     * Writes one packet (virtio-net header, then the frame) from {@code packet}, a native segment. Returns false
     * when the interface cannot take it now.
     */
    public boolean write(MemorySegment packet) {
        int f = fd.acquire();
        try {
            return Libc.write(f, packet) != Libc.WOULD_BLOCK;
        } finally {
            fd.release();
        }
    }

    /** Releases the descriptor (once the calls in progress end); the kernel then deletes the interface. */
    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "Tap[" + name + "]";
    }
}
