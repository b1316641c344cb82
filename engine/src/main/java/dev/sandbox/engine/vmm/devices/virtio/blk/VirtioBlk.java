package dev.sandbox.engine.vmm.devices.virtio.blk;

import dev.sandbox.engine.vmm.devices.virtio.DescriptorChain;
import dev.sandbox.engine.vmm.devices.virtio.Queue;
import dev.sandbox.engine.vmm.devices.virtio.VirtioDevice;
import dev.sandbox.engine.vmm.devices.virtio.VirtioFeatures;
import dev.sandbox.engine.vmm.devices.virtio.VirtioInterrupt;
import dev.sandbox.engine.vmm.devices.virtio.VirtqueueException;
import dev.sandbox.engine.vmm.memory.GuestMemory;
import dev.sandbox.engine.vmm.memory.GuestMemoryException;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * The virtio-blk device (id 2): one request queue over a {@link BlockBackend}. Configuration space (little-endian,
 * virtio 1.2, 5.2.4): {@code le64 capacity} (512-byte sectors) at 0, {@code le32 seg_max} at 12, {@code le32 blk_size}
 * at 20; the rest reads as zero.
 *
 * <p>A request (5.2.6) is a 16-byte header {@code le32 type; le32 reserved; le64 sector} in device-readable buffers,
 * the data (readable for OUT, writable for IN and GET_ID), and a status byte, the last writable byte. IN, OUT, FLUSH
 * and GET_ID are served; any other type is answered UNSUPP. Data moves straight between the backend and guest memory.
 *
 * <p>Validation: the guest is untrusted. A chain that breaks the virtqueue rules stops the device with
 * DEVICE_NEEDS_RESET. A chain with no writable byte has nowhere for a status: it is returned used with length 0 and
 * counted as an error, and the device goes on. Every other bad request is answered IOERR without touching the
 * backend: a header short of 16 bytes or not in readable buffers, data in buffers of the wrong direction, data not a
 * multiple of 512 bytes or over {@link #MAX_DATA}, or sectors past the capacity. Nothing is allocated per request:
 * the data is never copied to the heap, and a chain's views of guest memory are at most one per descriptor.
 *
 * <p>{@link #MAX_DATA} (16 MiB) bounds how long one request holds the device; Linux sends at most
 * {@code max_sectors_kb} per request, 1280 KiB unless raised, and at most {@code seg_max} buffers, offered as the queue
 * size less the header and status descriptors (no indirect descriptors are offered).
 *
 * <p>Durability: with FLUSH negotiated, a FLUSH request is the only point where writes become durable (the backend's
 * flush); a driver without it is served write-through, each write flushed before it completes.
 *
 * <p>Threads: every method takes the device's lock and requests complete inside {@link #queueNotify}, so once the
 * vCPUs and the notifying thread are stopped no request is in flight and the backend can be synced. Snapshots keep
 * nothing of the device beyond its transport's queues; the backend's own state goes with the snapshot separately.
 */
public final class VirtioBlk implements VirtioDevice {
    public static final int DEVICE_TYPE = 2;
    public static final int SECTOR_SIZE = 512;
    /** Data bytes one request may move at most. */
    public static final int MAX_DATA = 16 << 20;
    static final int QUEUE_SIZE = 256;
    static final int SEG_MAX = QUEUE_SIZE - 2;
    static final int BLK_SIZE = 4096;
    static final int HEADER = 16;
    static final int ID_BYTES = 20;

    static final int T_IN = 0;
    static final int T_OUT = 1;
    static final int T_FLUSH = 4;
    static final int T_GET_ID = 8;
    static final int S_OK = 0;
    static final int S_IOERR = 1;
    static final int S_UNSUPP = 2;

    static final int CONFIG_CAPACITY = 0;
    static final int CONFIG_SEG_MAX = 12;
    static final int CONFIG_BLK_SIZE = 20;
    static final int CONFIG_SIZE = 24;

    private static final System.Logger LOG = System.getLogger(VirtioBlk.class.getName());

    private final BlockBackend backend;
    private final long capacity;
    private final byte[] config;
    private final byte[] id;
    private final byte[] header = new byte[HEADER];
    private final byte[] status = new byte[1];
    private final BounceBuffer bounce = new BounceBuffer();
    private GuestMemory memory;
    private Queue queue;
    private VirtioInterrupt interrupt;
    private boolean writeThrough;
    private boolean failed;
    private boolean backendFailureLogged;
    private long reads;
    private long writes;
    private long flushes;
    private long bytesRead;
    private long bytesWritten;
    private long errors;
    private long backendErrors;
    private long unsupported;

    /** A device over {@code backend}, which stays the caller's to sync and close. */
    public VirtioBlk(BlockBackend backend) {
        this.backend = backend;
        this.capacity = backend.capacityBytes();
        if (capacity < 0 || capacity % SECTOR_SIZE != 0) {
            throw new IllegalArgumentException("disk capacity " + capacity + " is not whole sectors");
        }
        ByteBuffer c = ByteBuffer.allocate(CONFIG_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        c.putLong(CONFIG_CAPACITY, capacity / SECTOR_SIZE).putInt(CONFIG_SEG_MAX, SEG_MAX)
                .putInt(CONFIG_BLK_SIZE, BLK_SIZE);
        this.config = c.array();
        this.id = Arrays.copyOf(backend.id().getBytes(StandardCharsets.UTF_8), ID_BYTES); // NUL-padded or cut
    }

    public synchronized BlkMetrics metrics() {
        return new BlkMetrics(reads, writes, flushes, bytesRead, bytesWritten, errors, backendErrors, unsupported);
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public long features() {
        return VirtioFeatures.VERSION_1 | BlkFeatures.SEG_MAX | BlkFeatures.BLK_SIZE | BlkFeatures.FLUSH;
    }

    @Override
    public List<Integer> queueMaxSizes() {
        return List.of(QUEUE_SIZE);
    }

    @Override
    public void readConfig(long offset, byte[] data) {
        for (int i = 0; i < data.length; i++) {
            long at = offset + i;
            data[i] = at >= 0 && at < CONFIG_SIZE ? config[(int) at] : 0;
        }
    }

    @Override
    public void writeConfig(long offset, byte[] data) {
        // writeback toggling (CONFIG_WCE) is not offered: the configuration is read-only
    }

    @Override
    public synchronized void activate(GuestMemory memory, List<Queue> queues, long ackedFeatures,
                                      VirtioInterrupt interrupt) {
        this.memory = memory;
        this.queue = queues.getFirst();
        this.interrupt = interrupt;
        this.writeThrough = (ackedFeatures & BlkFeatures.FLUSH) == 0;
        this.failed = false;
    }

    @Override
    public synchronized void queueNotify(int index) {
        if (queue == null || failed) {
            return;
        }
        try {
            boolean used = false;
            for (DescriptorChain chain = queue.pop(memory); chain != null; chain = queue.pop(memory)) {
                queue.addUsed(memory, chain.head(), serve(chain));
                used = true;
            }
            if (used && queue.needsInterrupt(memory)) {
                interrupt.usedBuffers();
            }
        } catch (VirtqueueException | GuestMemoryException e) {
            failed = true;
            interrupt.needsReset("virtio-blk: " + e.getMessage());
        }
    }

    @Override
    public synchronized void reset() {
        memory = null;
        queue = null;
        interrupt = null;
        failed = false;
    }

    /** A request's outcome: its status and the data bytes written into the chain before the status byte. */
    private record Completion(int status, long written) {
        static final Completion IOERR = new Completion(S_IOERR, 0);
        static final Completion UNSUPP = new Completion(S_UNSUPP, 0);

        static Completion of(int status, long written) {
            return status == S_OK ? new Completion(S_OK, written) : IOERR;
        }
    }

    /** Serves one request and writes its status; returns the bytes written into the chain, status included. */
    private long serve(DescriptorChain chain) {
        long writable = chain.writableLength();
        if (writable == 0) {
            errors++; // nowhere to put a status: the driver sees an empty completion
            return 0;
        }
        long statusAt = writable - 1;
        Completion done = chain.readableLength() < HEADER ? Completion.IOERR : request(chain, statusAt);
        if (done.status() == S_IOERR) {
            errors++;
        } else if (done.status() == S_UNSUPP) {
            unsupported++;
        }
        status[0] = (byte) done.status();
        chain.write(memory, statusAt, status, 0, 1);
        return done.written() + 1;
    }

    // The header is in readable buffers (checked); the data is between it and the status byte at statusAt.
    private Completion request(DescriptorChain chain, long statusAt) {
        chain.read(memory, 0, header, 0, HEADER);
        ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        int type = h.getInt(0);
        long sector = h.getLong(8);
        long readData = chain.readableLength() - HEADER;
        switch (type) {
            case T_IN -> {
                if (readData != 0 || !inRange(sector, statusAt)) {
                    return Completion.IOERR;
                }
                int result = transfer(chain.writableSlices(memory, 0, statusAt), sector, false);
                if (result == S_OK) {
                    reads++;
                    bytesRead += statusAt;
                }
                return Completion.of(result, statusAt);
            }
            case T_OUT -> {
                if (statusAt != 0 || !inRange(sector, readData)) {
                    return Completion.IOERR;
                }
                int result = transfer(chain.readableSlices(memory, HEADER, readData), sector, true);
                if (result == S_OK && writeThrough) {
                    result = flush();
                }
                if (result == S_OK) {
                    writes++;
                    bytesWritten += readData;
                }
                return Completion.of(result, 0);
            }
            case T_FLUSH -> {
                if (readData != 0 || statusAt != 0) {
                    return Completion.IOERR;
                }
                int result = flush();
                if (result == S_OK) {
                    flushes++;
                }
                return Completion.of(result, 0);
            }
            case T_GET_ID -> {
                if (readData != 0) {
                    return Completion.IOERR;
                }
                int n = (int) Math.min(ID_BYTES, statusAt);
                chain.write(memory, 0, id, 0, n);
                return Completion.of(S_OK, n);
            }
            default -> {
                return Completion.UNSUPP;
            }
        }
    }

    /** Whether {@code length} data bytes from {@code sector} are whole sectors inside the disk and within bounds. */
    private boolean inRange(long sector, long length) {
        return length % SECTOR_SIZE == 0 && length <= MAX_DATA && sector >= 0 && sector <= capacity / SECTOR_SIZE
                && length <= capacity - sector * SECTOR_SIZE;
    }

    private int transfer(List<MemorySegment> slices, long sector, boolean toDisk) {
        long at = sector * SECTOR_SIZE;
        try {
            if (slices.size() > 1) {
                bounce.transfer(backend, slices, at, toDisk);
                return S_OK;
            }
            for (MemorySegment slice : slices) {
                if (toDisk) {
                    backend.write(at, slice);
                } else {
                    backend.read(at, slice);
                }
                at += slice.byteSize();
            }
            return S_OK;
        } catch (IOException | RuntimeException e) {
            return backendFailed(toDisk ? "write" : "read", e);
        }
    }

    private int flush() {
        try {
            backend.flush();
            return S_OK;
        } catch (IOException | RuntimeException e) {
            return backendFailed("flush", e);
        }
    }

    // The host's disk failed: the guest sees IOERR, as from a real disk, and the first failure is logged.
    private int backendFailed(String what, Exception e) {
        backendErrors++;
        if (!backendFailureLogged) {
            backendFailureLogged = true;
            LOG.log(System.Logger.Level.WARNING, "virtio-blk backend " + what + " failed; answered IOERR", e);
        }
        return S_IOERR;
    }
}
