package dev.sandbox.engine.vmm.arch;

/** One BIOS e820 memory map entry, as in {@code struct boot_e820_entry} (addr, size: u64; type: u32). */
public record E820Entry(long address, long size, Type type) {
    /** Entry types the VMM uses. */
    public enum Type {
        RAM(1), RESERVED(2);

        private final int code;

        Type(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }
    }

    public E820Entry {
        if (address < 0 || size <= 0 || address + size < address) {
            throw new IllegalArgumentException("bad e820 range 0x%x+0x%x".formatted(address, size));
        }
    }

    public long end() {
        return address + size;
    }
}
