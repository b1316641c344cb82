/**
 * Legacy PC devices a Linux guest without ACPI or PCI needs: the 8250 UART for the console and the i8042 controller,
 * whose reset command is how the guest reboots ({@code reboot=k}).
 */
package dev.sandbox.engine.vmm.devices.legacy;
