package dev.sandbox.ffi;

import java.nio.file.Path;

/** The data a sparse file really holds, found with SEEK_DATA/SEEK_HOLE (holes take no disk). */
public final class SparseFile {
    private SparseFile() {
    }

    /** Bytes in data extents (rounded by the file system's granularity); holes are not counted. */
    public static long dataBytes(Path file) {
        int fd = Libc.open(file.toString(), LinuxAbi.O_RDONLY | LinuxAbi.O_CLOEXEC, 0);
        try {
            long total = 0;
            long at = 0;
            while (true) {
                long data = Libc.lseek(fd, at, LinuxAbi.SEEK_DATA);
                if (data < 0) {
                    return total;
                }
                long hole = Libc.lseek(fd, data, LinuxAbi.SEEK_HOLE);
                total += hole - data;
                at = hole;
            }
        } finally {
            Libc.close(fd);
        }
    }
}
