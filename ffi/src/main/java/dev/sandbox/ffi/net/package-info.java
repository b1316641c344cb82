/**
 * TUN/TAP through FFM, in the same two tiers as {@code dev.sandbox.ffi.kvm}: {@link dev.sandbox.ffi.net.TapAbi}
 * holds the ioctl numbers, flags and layouts (checked against the C headers by the ABI test), and
 * {@link dev.sandbox.ffi.net.Tap} owns one TAP file descriptor: it creates the interface, sets the virtio-net header
 * size and offloads, and reads and writes whole packets without blocking.
 *
 * <p>A TAP is created in the network namespace of the calling thread; putting it in a sandbox's namespace is the
 * caller's business (enter it with {@code setns} on a platform thread, or move the interface afterwards).
 */
package dev.sandbox.ffi.net;
