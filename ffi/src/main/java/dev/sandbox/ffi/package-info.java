/**
 * The only place in the project that touches native memory or calls native functions.
 *
 * <p>{@link dev.sandbox.ffi.Libc} holds the libc downcalls: each captures {@code errno} and throws
 * {@link dev.sandbox.ffi.NativeException} instead of returning -1. On top of it sit small owners, one per kind of
 * file descriptor or mapping: {@link dev.sandbox.ffi.EventFd}, {@link dev.sandbox.ffi.MemFd},
 * {@link dev.sandbox.ffi.Mapping}, plus {@link dev.sandbox.ffi.ThreadSignals} for kicking a thread out of a
 * blocking call with a signal that has no handler. {@link dev.sandbox.ffi.LinuxAbi} lists the libc constants and
 * layouts; a test checks every one of them against the C headers. KVM lives in {@code dev.sandbox.ffi.kvm}.
 */
package dev.sandbox.ffi;
