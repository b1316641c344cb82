/**
 * TUN/TAP through FFM, in the same two tiers as {@code dev.sandbox.ffi.kvm}: {@link dev.sandbox.ffi.net.TapAbi}
 * holds the ioctl numbers, flags and layouts (checked against the C headers by the ABI test), and
 * {@link dev.sandbox.ffi.net.Tap} owns one TAP file descriptor: it creates the interface, sets the virtio-net header
 * size and offloads, and reads and writes whole packets without blocking.
 *
 * <p>A TAP is created in the network namespace of the calling thread: {@link dev.sandbox.ffi.net.NetNamespace} runs
 * an action (such as {@code Tap.open}) inside a named namespace on a fresh platform thread of its own.
 */
package dev.sandbox.ffi.net;
