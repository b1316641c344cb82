package dev.sandbox.ffi.kvm;

import java.lang.foreign.MemoryLayout;

/**
 * An ioctl request: its C macro name (for error messages and the ABI test) and its number, encoded as
 * {@code <asm-generic/ioctl.h>} does: direction in bits 30-31, argument size in 16-29, type in 8-15, number in 0-7.
 * The factories are public because other drivers' requests (TUN in {@code dev.sandbox.ffi.net}) are encoded alike.
 */
public record Ioctl(String name, long number) {
    private static final int NONE = 0;
    private static final int WRITE = 1; // userspace writes, the kernel reads
    private static final int READ = 2;

    static Ioctl ioc(String name, int dir, int type, int nr, long size) {
        if (size >= (1 << 14)) {
            throw new IllegalArgumentException(name + ": argument too large for an ioctl number: " + size);
        }
        return new Ioctl(name, ((long) dir << 30) | (size << 16) | ((long) type << 8) | nr);
    }

    /** _IO(type, nr) */
    public static Ioctl io(String name, int type, int nr) {
        return ioc(name, NONE, type, nr, 0);
    }

    /** _IOR(type, nr, argument) */
    public static Ioctl ior(String name, int type, int nr, MemoryLayout arg) {
        return ioc(name, READ, type, nr, arg.byteSize());
    }

    /** _IOW(type, nr, argument) */
    public static Ioctl iow(String name, int type, int nr, MemoryLayout arg) {
        return ioc(name, WRITE, type, nr, arg.byteSize());
    }

    /** _IOWR(type, nr, argument) */
    public static Ioctl iowr(String name, int type, int nr, MemoryLayout arg) {
        return ioc(name, READ | WRITE, type, nr, arg.byteSize());
    }

    @Override
    public String toString() {
        return name + "(0x" + Long.toHexString(number) + ")";
    }
}
