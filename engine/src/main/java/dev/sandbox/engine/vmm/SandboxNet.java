package dev.sandbox.engine.vmm;

import dev.sandbox.engine.NetworkSpec;
import dev.sandbox.engine.SandboxNetwork;
import dev.sandbox.engine.net.GuestNetLayout;
import dev.sandbox.engine.net.HostNetworking;
import dev.sandbox.engine.net.SandboxNetns;
import dev.sandbox.engine.vmm.devices.virtio.net.NetBackend;
import dev.sandbox.engine.vmm.devices.virtio.net.TapBackend;

/**
 * One sandbox's hold on the network: its slot (its host address, kept while it is paused, even across an engine
 * restart through the snapshot's manifest) and, while it has one, its namespace. The namespace stays through a
 * pause (a resume only opens a new TAP in it); it is made again when missing (a sandbox recovered after a restart,
 * whose namespace the new engine cleaned up as a leftover).
 */
final class SandboxNet {
    private final HostNetworking host;
    private final int slot;
    private final NetworkSpec spec;
    private SandboxNetns netns;
    private boolean released;

    private SandboxNet(HostNetworking host, int slot, NetworkSpec spec) {
        this.host = host;
        this.slot = slot;
        this.spec = spec;
    }

    /** A new sandbox's: takes a free slot. */
    static SandboxNet allocate(HostNetworking host, NetworkSpec spec) {
        return new SandboxNet(host, host.slots().allocate(), spec);
    }

    /** A paused sandbox's, whose slot the engine reserved when it opened. */
    static SandboxNet reserved(HostNetworking host, int slot, NetworkSpec spec) {
        return new SandboxNet(host, slot, spec);
    }

    int slot() {
        return slot;
    }

    SandboxNetwork network() {
        return new SandboxNetwork(GuestNetLayout.GUEST_IP, host.config().slot(slot).hostIp(), spec);
    }

    /** A TAP in the sandbox's namespace (made first if missing), for a VM that is built next and owns it. */
    synchronized NetBackend openBackend() {
        if (released) {
            throw new IllegalStateException("the network of slot " + slot + " was released");
        }
        if (netns == null) {
            netns = host.create(slot, spec);
        }
        return TapBackend.over(netns.openTap());
    }

    /** Removes the namespace, keeping the slot (a paused sandbox when the engine closes). Its VM is gone. */
    synchronized void closeNamespace() {
        SandboxNetns n = netns;
        netns = null;
        if (n != null) {
            n.close();
        }
    }

    /**
     * Removes the namespace and gives the slot back (destroy). The VM, whose TAP keeps the namespace alive, is
     * closed first. A slot whose namespace could not be removed is not given back: cleanupLeftovers at the next
     * start removes what is left, and no new sandbox gets a half-removed address meanwhile.
     */
    synchronized void release() {
        if (released) {
            return;
        }
        released = true;
        closeNamespace();
        host.slots().release(slot);
    }
}
