package dev.sandbox.jmh;

import dev.sandbox.engine.vmm.memory.DeltaRuns;
import dev.sandbox.engine.vmm.memory.PageRun;
import dev.sandbox.engine.vmm.memory.RestoredRam;
import dev.sandbox.engine.vmm.snapshot.DeltaFile;
import dev.sandbox.engine.vmm.snapshot.MemoryFile;
import dev.sandbox.ffi.Mapping;
import dev.sandbox.ffi.PageMap;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Random;
import java.util.function.LongSupplier;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * What a resume spends on guest memory, without KVM: for a RAM whose base file is mapped copy-on-write and a delta
 * of a given size, (a) copying a first-format delta in (the resume before mapped deltas), (b) mapping a
 * page-aligned delta's large runs over the base and copying its small ones, (c) verifying that delta's CRC32C by reading it through, and the first
 * touch of every delta page after (b) (reads, then writes: the guest pays these as it runs). Then the pagemap scan a
 * pause makes to find written pages, at 1% and 10% of the RAM written. Files stay in the page cache (warm), as
 * right after a pause.
 * <pre>java -cp benchmarks.jar dev.sandbox.jmh.DeltaRestoreBench [ramMb=512] [deltasMb=5,64] [rounds=20] [dir]</pre>
 */
public final class DeltaRestoreBench {
    private static final long PAGE = 4096;

    private DeltaRestoreBench() {
    }

    public static void main(String[] args) throws Exception {
        long ram = Long.parseLong(args.length > 0 ? args[0] : "512") << 20;
        String[] deltas = (args.length > 1 ? args[1] : "5,64").split(",");
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        Path dir = Files.createTempDirectory(args.length > 3 ? Path.of(args[3]) : Path.of("/tmp"), "delta-bench");
        try {
            Path base = base(dir, ram);
            System.out.printf("RAM %d MiB, %d rounds each (after %d warm-up), times in ms: p50 / p90 / min%n",
                    ram >> 20, rounds, rounds / 4);
            for (String d : deltas) {
                restore(dir, base, ram, Long.parseLong(d.trim()) << 20, rounds);
            }
            for (int percent : new int[] {0, 1, 10}) {
                scan(base, ram, percent, rounds);
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    /** A fully written base file (no holes): every page of the guest's memory read from it, as after a boot. */
    private static Path base(Path dir, long ram) throws IOException {
        Path base = dir.resolve("memory");
        ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 20);
        new Random(1).longs(chunk.capacity() / 8).forEach(chunk::putLong);
        try (FileChannel out = FileChannel.open(base, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long at = 0; at < ram; at += chunk.capacity()) {
                chunk.clear();
                while (chunk.hasRemaining()) {
                    out.write(chunk, at + chunk.position());
                }
            }
        }
        return base;
    }

    /** Pages in clusters of 1 to 32 at random places, as a guest dirties memory, until {@code bytes} are chosen. */
    private static BitSet pages(long ram, long bytes, long seed) {
        Random random = new Random(seed);
        BitSet pages = new BitSet();
        int ramPages = (int) (ram / PAGE);
        while (pages.cardinality() < bytes / PAGE) {
            int at = random.nextInt(ramPages);
            pages.set(at, Math.min(ramPages, at + 1 + random.nextInt(32)));
        }
        return pages;
    }

    private static void restore(Path dir, Path base, long ram, long deltaBytes, int rounds) throws IOException {
        BitSet pages = pages(ram, deltaBytes, deltaBytes);
        Path old = dir.resolve("delta-old-" + (deltaBytes >> 20));
        Path mapped = dir.resolve("delta-new-" + (deltaBytes >> 20));
        MemoryFile.Delta oldDelta;
        MemoryFile.Delta newDelta;
        try (Mapping m = Mapping.ofFile(base, 0, ram, Mapping.Sharing.PRIVATE, true)) {
            Random random = new Random(2);
            pages.stream().forEach(p -> m.segment().set(JAVA_LONG, p * PAGE + 8 * random.nextInt(512),
                    random.nextLong()));
            oldDelta = MemoryFile.writeDelta(m.segment(), pages, old);
            newDelta = DeltaFile.write(m.segment(), pages, mapped);
        }
        DeltaRuns runs = DeltaFile.verify(mapped, newDelta, ram);
        BitSet stored = runs.pages();

        long[] copy = time(rounds, () -> {
            long t0 = System.nanoTime();
            Mapping m = Mapping.ofFile(base, 0, ram, Mapping.Sharing.PRIVATE, true);
            try {
                MemoryFile.applyDelta(old, oldDelta, m.segment());
                return System.nanoTime() - t0;
            } catch (IOException e) {
                throw new IllegalStateException(e);
            } finally {
                m.close();
            }
        });
        long[] verify = time(rounds, () -> {
            long t0 = System.nanoTime();
            try {
                DeltaFile.verify(mapped, newDelta, ram);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            return System.nanoTime() - t0;
        });
        long[] map = time(rounds, () -> {
            long t0 = System.nanoTime();
            Mapping m = RestoredRam.map(base, ram, runs);
            long t = System.nanoTime() - t0;
            m.close();
            return t;
        });
        long[] readTouch = time(rounds, () -> touch(base, ram, runs, stored, false));
        long[] writeTouch = time(rounds, () -> touch(base, ram, runs, stored, true));
        long mappedPages = runs.mapped().stream().mapToLong(PageRun::pages).sum();
        System.out.printf("%nDelta %d MiB (%d pages in %d runs; the file stores %d pages, %d MiB; %d runs of %d pages"
                        + " mapped, %d pages in the other runs copied):%n", deltaBytes >> 20, pages.cardinality(),
                runs.runs().size(), stored.cardinality(), Files.size(mapped) >> 20, runs.mapped().size(), mappedPages,
                stored.cardinality() - mappedPages);
        row("(a) copy into the base mapping (today)", copy);
        row("(c) verify CRC32C, read through", verify);
        row("(b) map the large runs, copy the small", map);
        long[] both = new long[rounds];
        for (int i = 0; i < rounds; i++) {
            both[i] = verify[i] + map[i];
        }
        Arrays.sort(both);
        row("(b)+(c) mapped resume", both);
        row("first touch, read, every stored page", readTouch);
        row("first touch, write, every stored page", writeTouch);
        System.out.printf("  copy / (verify + map) at p50: %.1fx; copy / (verify + map + read touch): %.1fx;"
                        + " copy / (verify + map + write touch): %.1fx%n",
                ratio(copy, both, null), ratio(copy, both, readTouch), ratio(copy, both, writeTouch));
    }

    /** ns to touch every stored page once after mapping (mapping and unmapping not counted). */
    private static long touch(Path base, long ram, DeltaRuns runs, BitSet stored, boolean write) {
        try (Mapping m = RestoredRam.map(base, ram, runs)) {
            MemorySegment s = m.segment();
            long t0 = System.nanoTime();
            long sum = 0;
            for (int p = stored.nextSetBit(0); p >= 0; p = stored.nextSetBit(p + 1)) {
                if (write) {
                    s.set(JAVA_BYTE, p * PAGE, (byte) 1);
                } else {
                    sum += s.get(JAVA_BYTE, p * PAGE);
                }
            }
            long t = System.nanoTime() - t0;
            return sum == Long.MIN_VALUE ? 0 : t;
        }
    }

    private static void scan(Path base, long ram, int percent, int rounds) {
        try (Mapping m = Mapping.ofFile(base, 0, ram, Mapping.Sharing.PRIVATE, true)) {
            Random random = new Random(percent);
            long pages = ram / PAGE;
            for (long p = 0; p < pages; p++) {
                if (random.nextInt(100) < percent) {
                    m.segment().set(JAVA_BYTE, p * PAGE, (byte) 1);
                }
            }
            long[] t = time(rounds, () -> {
                long t0 = System.nanoTime();
                BitSet written = PageMap.writtenPages(m);
                return written.size() < 0 ? 0 : System.nanoTime() - t0;
            });
            if (percent == 0) {
                System.out.printf("%nPagemap scan of a %d MiB private file mapping (a pause's written pages):%n",
                        ram >> 20);
            }
            row(percent + "% of the pages written", t);
        }
    }

    private static long[] time(int rounds, LongSupplier once) {
        for (int i = 0; i < rounds / 4; i++) {
            once.getAsLong();
        }
        long[] ns = new long[rounds];
        for (int i = 0; i < rounds; i++) {
            ns[i] = once.getAsLong();
        }
        Arrays.sort(ns);
        return ns;
    }

    private static void row(String what, long[] sorted) {
        System.out.printf("  %-42s %8.2f / %8.2f / %8.2f%n", what, ms(sorted[sorted.length / 2]),
                ms(sorted[(int) (sorted.length * 0.9)]), ms(sorted[0]));
    }

    private static double ratio(long[] copy, long[] both, long[] touch) {
        long denominator = both[both.length / 2] + (touch == null ? 0 : touch[touch.length / 2]);
        return (double) copy[copy.length / 2] / denominator;
    }

    private static double ms(long ns) {
        return ns / 1e6;
    }
}
