package dev.sandbox.engine.vmm.builder;

import dev.sandbox.engine.net.GuestNetLayout;
import dev.sandbox.engine.vmm.arch.Cmdline;
import dev.sandbox.engine.vmm.arch.Layout;

import java.util.regex.Pattern;

/**
 * The guest kernel command line: serial console, reboot through the i8042 (which stops the VM), no PCI or module
 * loading, an i8042 without probing extras, the hostname for the agent, the guest's address when it has a NIC, and
 * one {@code virtio_mmio.device=} per virtio slot.
 */
public final class BootCommandLine {
    static final String BASE = "console=ttyS0 reboot=k panic=1 pci=off nomodule i8042.noaux i8042.nomux"
            + " i8042.nopnp i8042.dumbkbd quiet";
    /** What the agent accepts as a hostname (it ignores anything else). */
    // Starts with a letter or digit: the id also names the sandbox's snapshot folder, so "." and ".." must not pass.
    private static final Pattern HOSTNAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9.-]{0,63}");
    /**
     * A disk template's root: the ext4 file system on the virtio-blk disk (the first, {@code vda}), mounted by the
     * kernel, with our agent as PID 1 (the image puts it there).
     */
    static final String DISK_ROOT = "root=/dev/vda rw rootfstype=ext4 init=/sbin/sandbox-agent";
    /** Extra parameters for debugging a boot, e.g. {@code -Dsandbox.vmm.cmdline.extra=earlyprintk=serial}. */
    private static final String EXTRA = System.getProperty("sandbox.vmm.cmdline.extra", "");

    private BootCommandLine() {
    }

    /** The line for a VM named {@code hostname} with {@code virtioDevices} devices in slots 0.. and no NIC. */
    public static Cmdline build(String hostname, int virtioDevices) {
        return build(hostname, virtioDevices, false);
    }

    /**
     * The line for a VM named {@code hostname} with {@code virtioDevices} devices in slots 0..; {@code network}: one
     * of them is the NIC, configured by the kernel at boot ({@code ip=}, {@link GuestNetLayout}).
     */
    public static Cmdline build(String hostname, int virtioDevices, boolean network) {
        return build(hostname, virtioDevices, network, false);
    }

    /** As {@link #build(String, int, boolean)}; {@code diskRoot}: the root file system is the disk's. */
    public static Cmdline build(String hostname, int virtioDevices, boolean network, boolean diskRoot) {
        if (!HOSTNAME.matcher(hostname).matches()) {
            throw new IllegalArgumentException("hostname must be 1..64 of [A-Za-z0-9.-]: '" + hostname + "'");
        }
        // Debug parameters replace "quiet", so the boot log shows on the console.
        Cmdline line = new Cmdline().append(EXTRA.isBlank() ? BASE : BASE.replace(" quiet", "") + " " + EXTRA);
        if (diskRoot) {
            line.append(DISK_ROOT);
        }
        line.put("sandbox.hostname", hostname);
        if (network) {
            line.put("ip", GuestNetLayout.kernelIpParameter());
        }
        for (int slot = 0; slot < virtioDevices; slot++) {
            line.virtioMmioDevice(Layout.virtioMmioBase(slot), Layout.VIRTIO_MMIO_SIZE, Layout.virtioIrq(slot));
        }
        return line;
    }

    /** Whether {@code hostname} is acceptable to {@link #build}. */
    public static boolean validHostname(String hostname) {
        return HOSTNAME.matcher(hostname).matches();
    }
}
