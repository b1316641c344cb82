package dev.sandbox.engine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Predicate;

/** This process's memory as the kernel counts it (/proc/self/smaps), for tests and benchmarks that report sharing. */
public final class HostMemory {

    /** Resident and proportional set sizes in KiB. */
    public record Usage(long rssKb, long pssKb) {
        public long rssMb() {
            return rssKb >> 10;
        }

        public long pssMb() {
            return pssKb >> 10;
        }
    }

    /** A clone's RAM: the template's memory file, mapped privately by each clone. */
    public static final Predicate<String> TEMPLATE_RAM = header -> header.contains("/.templates/")
            && header.endsWith("/memory");

    /** Guest RAM of any sandbox: a booted VM's memfd or a restored one's memory file. */
    public static final Predicate<String> GUEST_RAM = header -> TEMPLATE_RAM.test(header)
            || header.contains("/memfd:sandbox-ram-") || header.endsWith("/memory");

    private HostMemory() {
    }

    /** RSS and PSS summed over the mappings whose smaps header line matches. */
    public static Usage mappings(Predicate<String> header) {
        long rss = 0;
        long pss = 0;
        boolean in = false;
        for (String line : smaps("/proc/self/smaps")) {
            if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                in = header.test(line);
            } else if (in && line.startsWith("Rss:")) {
                rss += kb(line);
            } else if (in && line.startsWith("Pss:")) {
                pss += kb(line);
            }
        }
        return new Usage(rss, pss);
    }

    /** The whole process. */
    public static Usage process() {
        long rss = 0;
        long pss = 0;
        for (String line : smaps("/proc/self/smaps_rollup")) {
            if (line.startsWith("Rss:")) {
                rss = kb(line);
            } else if (line.startsWith("Pss:")) {
                pss = kb(line);
            }
        }
        return new Usage(rss, pss);
    }

    private static Iterable<String> smaps(String file) {
        try {
            return Files.readAllLines(Path.of(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long kb(String line) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }
}
