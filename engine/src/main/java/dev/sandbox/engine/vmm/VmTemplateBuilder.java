package dev.sandbox.engine.vmm;

import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.NetworkSpec;
import dev.sandbox.engine.SandboxSpec;
import dev.sandbox.engine.TemplateRecipe;
import dev.sandbox.engine.agent.ExecExit;
import dev.sandbox.engine.agent.ExecListener;
import dev.sandbox.engine.agent.ExecRequest;
import dev.sandbox.engine.templates.BuildLog;
import dev.sandbox.engine.templates.BuildRunner;
import dev.sandbox.engine.templates.TemplateSource;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;

/**
 * Builds a custom template inside a sandbox VM of its base template, never on the host: apt sources written, the
 * packages installed with apt-get, each shell step run as root, then the guest's file systems synced and its whole
 * disk (base image, template overlay, the build's own) written out flat as the new template's image. The build
 * sandbox has a network (apt needs the archive) and is destroyed at the end whatever happens.
 */
final class VmTemplateBuilder implements BuildRunner {
    static final int MEMORY_MB = 512;
    static final Duration APT_TIMEOUT = Duration.ofMinutes(20);
    static final Duration STEP_TIMEOUT = Duration.ofMinutes(30);
    private static final Map<String, String> ENV = Map.of("DEBIAN_FRONTEND", "noninteractive",
            "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME", "/root",
            "LANG", "C.UTF-8");

    private final Function<SandboxSpec, KvmSandbox> create;
    private final int vcpus;

    /** {@code create} makes the build sandbox (the engine's create); builds get up to two vCPUs. */
    VmTemplateBuilder(Function<SandboxSpec, KvmSandbox> create, int maxVcpus) {
        this.create = create;
        this.vcpus = Math.min(2, maxVcpus);
    }

    @Override
    public void build(TemplateRecipe recipe, TemplateSource.Disk base, Path outImage, BuildLog log) {
        String id = "tb-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        boolean apt = !recipe.packages().isEmpty();
        SandboxSpec spec = new SandboxSpec(id, recipe.base(), vcpus, MEMORY_MB, apt ? NetworkSpec.DEFAULT : null);
        log.line("build sandbox " + id + " from " + recipe.base() + (apt ? " with a network" : ""));
        try (KvmSandbox sandbox = create.apply(spec)) {
            if (!recipe.aptSources().isEmpty()) {
                String list = String.join("\n", recipe.aptSources()) + "\n";
                log.line("apt sources: " + String.join(" | ", recipe.aptSources()));
                sandbox.writeFile("/etc/apt/sources.list",
                        new ByteArrayInputStream(list.getBytes(StandardCharsets.UTF_8)), 0644);
                run(sandbox, log, "rm -f /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources",
                        APT_TIMEOUT, "removing other apt sources");
            }
            if (apt) {
                run(sandbox, log, "apt-get update", APT_TIMEOUT, "apt-get update");
                run(sandbox, log, "apt-get install -y --no-install-recommends " + String.join(" ", recipe.packages()),
                        APT_TIMEOUT, "installing " + String.join(" ", recipe.packages()));
                run(sandbox, log, "apt-get clean && rm -rf /var/lib/apt/lists/*", APT_TIMEOUT, "apt-get clean");
            }
            List<String> steps = recipe.run();
            for (int i = 0; i < steps.size(); i++) {
                run(sandbox, log, steps.get(i), STEP_TIMEOUT, "step " + (i + 1) + " of " + steps.size());
            }
            log.line("writing the image");
            sandbox.exportDisk(outImage);
        }
    }

    /** Runs {@code script} as root with its output in the log; fails the build unless it exits 0. */
    private static void run(KvmSandbox sandbox, BuildLog log, String script, Duration timeout, String what) {
        log.line("$ " + script);
        LineSink out = new LineSink(log);
        ExecExit exit = sandbox.exec(new ExecRequest("/bin/sh", List.of("-c", script), ENV, "/root", null, timeout,
                ExecRequest.DEFAULT_OUTPUT_CAP, ExecRequest.DEFAULT_OUTPUT_CAP), out);
        out.flush();
        if (exit.timedOut()) {
            throw new EngineException(EngineException.Kind.INVALID_SPEC, what + " timed out after " + timeout);
        }
        if (exit.exitCode() != 0) {
            throw new EngineException(EngineException.Kind.INVALID_SPEC, what + " failed with exit code "
                    + exit.exitCode());
        }
    }

    /** Exec output in whole lines, stdout and stderr as they come. */
    private static final class LineSink implements ExecListener {
        private final BuildLog log;
        private final StringBuilder pending = new StringBuilder();

        LineSink(BuildLog log) {
            this.log = log;
        }

        @Override
        public synchronized void stdout(byte[] chunk) {
            add(chunk);
        }

        @Override
        public synchronized void stderr(byte[] chunk) {
            add(chunk);
        }

        private void add(byte[] chunk) {
            pending.append(new String(chunk, StandardCharsets.UTF_8));
            int nl;
            while ((nl = pending.indexOf("\n")) >= 0) {
                log.line(pending.substring(0, nl));
                pending.delete(0, nl + 1);
            }
        }

        synchronized void flush() {
            if (!pending.isEmpty()) {
                log.line(pending.toString());
                pending.setLength(0);
            }
        }
    }
}
