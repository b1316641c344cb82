/**
 * The host side of sandbox networking: a network namespace per sandbox with the TAP of its virtio-net device, a
 * veth pair to the host, NAT, and nftables rules for the egress policy ({@link dev.sandbox.engine.NetworkSpec}).
 */
package dev.sandbox.engine.net;
