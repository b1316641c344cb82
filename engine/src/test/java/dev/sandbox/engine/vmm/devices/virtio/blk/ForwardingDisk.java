package dev.sandbox.engine.vmm.devices.virtio.blk;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/** A {@link BlockBackend} that passes every call to another, for tests that watch or change some of them. */
class ForwardingDisk implements BlockBackend {
    final BlockBackend delegate;

    ForwardingDisk(BlockBackend delegate) {
        this.delegate = delegate;
    }

    @Override
    public long capacityBytes() {
        return delegate.capacityBytes();
    }

    @Override
    public void read(long offset, MemorySegment destination) throws IOException {
        delegate.read(offset, destination);
    }

    @Override
    public void write(long offset, MemorySegment source) throws IOException {
        delegate.write(offset, source);
    }

    @Override
    public void flush() throws IOException {
        delegate.flush();
    }

    @Override
    public String id() {
        return delegate.id();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
