package dev.sandbox.engine.vmm.devices.virtio.blk;

import java.nio.file.Path;
import java.util.List;

/**
 * What a snapshot keeps of an {@link OverlayDisk}: enough to reopen exactly the disk that was saved and to notice any
 * file that changed since. Paths are absolute.
 *
 * @param layers bottom first; the last is the writable top, the others read-only lowers
 */
public record DiskState(Base base, List<Layer> layers, long capacityBytes) {
    /** The read-only base image as it was: a replaced base shows as another size or modification time. */
    public record Base(Path path, long size, long modifiedMillis) {
    }

    /**
     * One overlay layer.
     *
     * @param crc    CRC32C over the checksum of its map and then the data of its blocks, in block order
     * @param blocks how many blocks it holds
     */
    public record Layer(Path path, long crc, long blocks) {
    }

    public DiskState {
        layers = List.copyOf(layers);
        if (layers.isEmpty() || layers.size() > OverlayDisk.MAX_LAYERS) {
            throw new IllegalArgumentException("a disk has 1 to " + OverlayDisk.MAX_LAYERS + " layers, not "
                    + layers.size());
        }
        if (capacityBytes <= 0 || capacityBytes > OverlayDisk.MAX_CAPACITY
                || capacityBytes % OverlayDisk.BLOCK_SIZE != 0) {
            throw new IllegalArgumentException("disk capacity " + capacityBytes + " is not a positive multiple of "
                    + OverlayDisk.BLOCK_SIZE + " up to " + OverlayDisk.MAX_CAPACITY);
        }
    }

    public Layer top() {
        return layers.getLast();
    }
}
