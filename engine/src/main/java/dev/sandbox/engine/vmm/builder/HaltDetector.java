package dev.sandbox.engine.vmm.builder;

import dev.sandbox.engine.vmm.vstate.StopReason;

import java.util.function.Consumer;

/**
 * Notices the kernel's last console line before it halts for good. Without ACPI the guest has no way to power off:
 * {@code poweroff} ends in {@code machine_halt}, every CPU parks in HLT with interrupts off, and with the in-kernel
 * LAPIC that never exits to us. The kernel always prints one of these lines first (at KERN_EMERG, so even with
 * {@code quiet}); seeing it stops the VM. A guest process could print the same text, but it could also reboot the
 * VM anyway: either way it only stops itself.
 */
final class HaltDetector implements Consumer<String> {
    static final String HALTED = "reboot: System halted";
    static final String POWER_DOWN = "reboot: Power down";
    static final String PANIC = "Kernel panic - not syncing";

    /** The panic line, once the kernel printed one: the i8042 reset that follows is a crash, not a reboot. */
    private volatile String panic;

    private volatile Consumer<StopReason> target = ignored -> {
    };

    void target(Consumer<StopReason> target) {
        this.target = target;
    }

    @Override
    public void accept(String line) {
        if (panic == null && line.contains(PANIC)) {
            panic = line.strip();
        }
        if (isHaltLine(line)) {
            target.accept(new StopReason.GuestStopped("the guest halted (" + line.strip() + ")"));
        }
    }

    /** How the guest stopped when it reset through the i8042: a crash if it panicked first. */
    StopReason resetReason() {
        String p = panic;
        return p != null ? new StopReason.Crashed(p) : new StopReason.GuestStopped("reset through the i8042");
    }

    static boolean isHaltLine(String line) {
        String l = line.strip().replaceFirst("^\\[[^\\]]*\\]\\s*", ""); // printk time, if configured
        return l.startsWith(HALTED) || l.startsWith(POWER_DOWN);
    }
}
