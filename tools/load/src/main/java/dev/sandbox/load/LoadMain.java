package dev.sandbox.load;

import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;

/**
 * Drives the Sandbox API with N concurrent clients through the scenario and reports latency percentiles,
 * throughput, HdrHistogram logs and a PNG plot. Every loop is bounded by --iterations; nothing runs forever.
 */
public final class LoadMain {

    private LoadMain() {
    }

    public static void main(String[] args) throws Exception {
        LoadConfig config;
        try {
            config = LoadConfig.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.exit(run(config) ? 0 : 1);
    }

    /** Runs the load; true when no request failed. */
    public static boolean run(LoadConfig config) throws IOException, InterruptedException {
        Stats stats = new Stats();
        Queue<String> errors = Scenario.errorQueue();
        System.out.printf("load: %d clients x %d iterations (%d execs, %d KiB file%s each) against %s%n",
                config.clients(), config.iterations(), config.execs(), config.fileBytes() / 1024,
                config.pause() ? ", pause/resume" : "", config.url());
        long start = 0;
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()) {
            ApiClient api = new ApiClient(http, config.url(), config.timeout());
            if (config.warmup() > 0) {
                Stats warm = new Stats();
                new Scenario(api, config.withIterations(config.warmup()), warm, Scenario.errorQueue(), -1).run();
                System.out.printf("warm-up: %d scenario run(s) by one client, not counted%n", config.warmup());
            }
            start = System.nanoTime();
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < config.clients(); c++) {
                clients.add(Thread.ofVirtual().name("client-" + c).start(new Scenario(api, config, stats, errors, c)));
            }
            for (Thread t : clients) {
                t.join();
            }
        }
        Duration wall = Duration.ofNanos(System.nanoTime() - start);
        Map<Operation, Histogram> histograms = stats.drain();
        Report.print(System.out, histograms, stats, wall);
        Report.writeLogs(config.out(), histograms);
        LatencyPlot.write(config.out().resolve("latency.png"), histograms,
                "Sandbox API latency, " + config.clients() + " clients, " + config.url());
        System.out.printf("wall %.1f s; histogram logs and latency.png in %s%n", wall.toNanos() / 1e9,
                config.out().toAbsolutePath());
        errors.forEach(e -> System.out.println("error: " + e));
        long failed = 0;
        for (Operation op : Operation.values()) {
            failed += stats.failures(op);
        }
        return failed == 0;
    }
}
