package dev.sandbox.engine;

/**
 * Admission for warm pool clones, which hold memory and vCPUs like sandboxes: the embedding service counts them
 * against its budget. The pool asks before it restores a clone and gives the claim back when the clone is handed
 * out (the sandbox then holds its own claim) or released.
 */
public interface PoolGate {
    /** Always yes: for an engine used without a budget. */
    PoolGate OPEN = new PoolGate() {
        @Override
        public boolean admit(String entry, int vcpus, int memoryMb) {
            return true;
        }

        @Override
        public void release(String entry) {
        }
    };

    /** May the pool restore clone {@code entry} with these resources now? Must not block for long. */
    boolean admit(String entry, int vcpus, int memoryMb);

    /** The clone no longer holds what {@link #admit} granted. Idempotent. */
    void release(String entry);
}
