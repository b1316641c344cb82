package dev.sandbox.ffi;

import java.lang.foreign.Arena;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Owner of one mmap(2) region, exposed as a bounded {@link MemorySegment}. Closing unmaps the region and
 * invalidates the segment and every slice of it (later access throws instead of touching freed memory). Parts of
 * the region can be replaced by file mappings ({@link #overlay}); they belong to it and go with its close.
 */
public final class Mapping implements AutoCloseable {
    /** MAP_SHARED writes reach the file; MAP_PRIVATE writes are copy-on-write and stay in this process. */
    public enum Sharing {
        SHARED(LinuxAbi.MAP_SHARED), PRIVATE(LinuxAbi.MAP_PRIVATE);

        final int flag;

        Sharing(int flag) {
            this.flag = flag;
        }
    }

    /** madvise(2) advice. */
    public enum Advice {
        NORMAL(LinuxAbi.MADV_NORMAL), RANDOM(LinuxAbi.MADV_RANDOM), SEQUENTIAL(LinuxAbi.MADV_SEQUENTIAL),
        WILLNEED(LinuxAbi.MADV_WILLNEED), DONTNEED(LinuxAbi.MADV_DONTNEED), REMOVE(LinuxAbi.MADV_REMOVE),
        DONTFORK(LinuxAbi.MADV_DONTFORK), MERGEABLE(LinuxAbi.MADV_MERGEABLE),
        HUGEPAGE(LinuxAbi.MADV_HUGEPAGE), NOHUGEPAGE(LinuxAbi.MADV_NOHUGEPAGE), DONTDUMP(LinuxAbi.MADV_DONTDUMP);

        final int value;

        Advice(int value) {
            this.value = value;
        }
    }

    private static final long PAGE = 4096;

    private final Arena arena = Arena.ofShared();
    private final long address;
    private final long length;
    private final MemorySegment segment;

    private Mapping(long address, long length) {
        this.address = address;
        this.length = length;
        this.segment = MemorySegment.ofAddress(address).reinterpret(length, arena, null);
    }

    /** Anonymous read-write private memory. */
    public static Mapping anonymous(long length, boolean noReserve) {
        int flags = LinuxAbi.MAP_PRIVATE | LinuxAbi.MAP_ANONYMOUS | (noReserve ? LinuxAbi.MAP_NORESERVE : 0);
        return new Mapping(Libc.mmap(positive(length), LinuxAbi.PROT_READ | LinuxAbi.PROT_WRITE, flags, -1, 0),
                length);
    }

    /**
     * Maps {@code length} bytes of {@code file} from {@code offset} read-write. SHARED opens the file read-write;
     * PRIVATE only needs it readable (copy-on-write never writes back). The fd is closed once mapped.
     */
    public static Mapping ofFile(Path file, long offset, long length, Sharing sharing, boolean noReserve) {
        int openFlags = (sharing == Sharing.SHARED ? LinuxAbi.O_RDWR : LinuxAbi.O_RDONLY) | LinuxAbi.O_CLOEXEC;
        int fd = Libc.open(file.toString(), openFlags, 0);
        try {
            return ofFd(fd, offset, length, sharing, noReserve);
        } finally {
            Libc.close(fd);
        }
    }

    /** Maps an fd the caller keeps owning (a memfd, a vCPU fd); the mapping outlives a later close of the fd. */
    public static Mapping ofFd(int fd, long offset, long length, Sharing sharing, boolean noReserve) {
        int flags = sharing.flag | (noReserve ? LinuxAbi.MAP_NORESERVE : 0);
        long address = Libc.mmap(positive(length), LinuxAbi.PROT_READ | LinuxAbi.PROT_WRITE, flags, fd, offset);
        return new Mapping(address, length);
    }

    /** Part of a file to map over a mapping: {@code length} bytes from {@code fileOffset}, at {@code offset} in it. */
    public record Overlay(long offset, long fileOffset, long length) {
        public Overlay {
            if (offset < 0 || fileOffset < 0 || length <= 0 || (offset | fileOffset | length) % PAGE != 0) {
                throw new IllegalArgumentException("overlay %d bytes of the file from %d at %d: not whole pages"
                        .formatted(length, fileOffset, offset));
            }
        }
    }

    /**
     * Maps each of {@code regions} of {@code file} over this mapping (MAP_FIXED: the pages it covers are replaced,
     * their content dropped), opening the file once. The sub-mappings need no owner of their own: {@link #close}
     * unmaps the whole range with one munmap, theirs included. Regions must lie inside this mapping and inside the
     * file (a page past the file's end would fault the process with SIGBUS on access, so it is refused here). The file
     * must not shrink while mapped, for the same reason. If a mapping call fails this mapping is closed before the
     * exception comes out: a failed MAP_FIXED may leave a hole that a live segment must never reach.
     */
    public void overlay(Path file, List<Overlay> regions, Sharing sharing, boolean noReserve) {
        checkOpen();
        long fileSize;
        try {
            fileSize = Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException("overlay of " + file, e);
        }
        for (Overlay r : regions) {
            Objects.checkFromIndexSize(r.offset(), r.length(), length);
            if (r.fileOffset() > fileSize - r.length()) {
                throw new IllegalArgumentException("overlay reaches past the end of " + file + " (" + fileSize
                        + " bytes): " + r);
            }
        }
        int openFlags = (sharing == Sharing.SHARED ? LinuxAbi.O_RDWR : LinuxAbi.O_RDONLY) | LinuxAbi.O_CLOEXEC;
        int fd = Libc.open(file.toString(), openFlags, 0);
        try {
            int flags = sharing.flag | (noReserve ? LinuxAbi.MAP_NORESERVE : 0);
            for (Overlay r : regions) {
                Libc.mmapFixed(address + r.offset(), r.length(), LinuxAbi.PROT_READ | LinuxAbi.PROT_WRITE, flags, fd,
                        r.fileOffset());
            }
        } catch (RuntimeException e) {
            try {
                close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        } finally {
            Libc.close(fd);
        }
    }

    private static long positive(long length) {
        if (length <= 0) {
            throw new IllegalArgumentException("mapping length must be positive: " + length);
        }
        return length;
    }

    /** The whole region; valid until {@link #close()}. */
    public MemorySegment segment() {
        return segment;
    }

    /** The start address, for handing to the kernel (KVM_SET_USER_MEMORY_REGION). */
    public long address() {
        return address;
    }

    public long byteSize() {
        return length;
    }

    public void advise(Advice advice) {
        advise(0, length, advice);
    }

    /** madvise on a page-aligned sub-range. */
    public void advise(long offset, long size, Advice advice) {
        Objects.checkFromIndexSize(offset, size, length);
        checkOpen();
        Libc.madvise(address + offset, size, advice.value);
    }

    /** msync(MS_SYNC) of the whole region: shared file mappings reach the file before this returns. */
    public void sync() {
        sync(0, length);
    }

    public void sync(long offset, long size) {
        Objects.checkFromIndexSize(offset, size, length);
        checkOpen();
        Libc.msync(address + offset, size, LinuxAbi.MS_SYNC);
    }

    private void checkOpen() {
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException("mapping closed");
        }
    }

    /** Unmaps; segments from this mapping become inaccessible first, so none can touch the freed range. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
            Libc.munmap(address, length);
        }
    }
}
