package dev.sandbox.engine.net;

import dev.sandbox.ffi.NativeException;
import dev.sandbox.ffi.net.NetNamespace;
import dev.sandbox.ffi.net.Tap;

/**
 * Makes the guest's link, the interface named {@link GuestNetLayout#TAP_NAME} inside a sandbox's namespace, and
 * returns what owns it. {@link SandboxNetns} then gives it the gateway's address and MAC and brings it up. The
 * VMM's link is a TAP; tests use a veth pair whose other end sits in a namespace that plays the guest.
 */
@FunctionalInterface
interface GuestLink<T extends AutoCloseable> {
    T create(String netns, Commands commands);

    /** A TAP opened inside the namespace: its fd is the guest's wire, and closing it removes the interface. */
    GuestLink<Tap> TAP = (netns, commands) -> {
        try {
            return NetNamespace.call(netns, () -> Tap.open(GuestNetLayout.TAP_NAME));
        } catch (NativeException e) {
            throw new NetworkException("cannot open TAP " + GuestNetLayout.TAP_NAME + " in namespace " + netns + ": "
                    + e.getMessage(), e);
        }
    };
}
