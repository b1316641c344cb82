package dev.sandbox.engine;

import dev.sandbox.engine.agent.ExecRequest;
import dev.sandbox.engine.agent.ExecResult;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * For iterating on the boot by hand (inside tools/kvmhost): boots one sandbox, runs a command, prints the console.
 * Arguments: [vcpus] [memoryMb] [shell command].
 */
public final class BootMain {
    /** Prints every thread's stack if the JVM is still here 20 s later, then exits: shows where a close hangs. */
    private static void watchdog(String what) {
        Thread.ofPlatform().daemon(true).start(() -> {
            try {
                Thread.sleep(20_000);
            } catch (InterruptedException e) {
                return;
            }
            System.out.println("STUCK " + what + "; threads:");
            Thread.getAllStackTraces().forEach((t, stack) -> {
                System.out.println(t + " " + t.getState());
                for (StackTraceElement e : stack) {
                    System.out.println("    at " + e);
                }
            });
            System.out.flush();
            Runtime.getRuntime().halt(3);
        });
    }

    public static void main(String[] args) throws Exception {
        int vcpus = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int memory = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        String command = args.length > 2 ? args[2] : "echo hello; uname -a; nproc; hostname";
        Path data = Files.createTempDirectory("sandbox-boot");
        EngineConfig config = new EngineConfig(data, EngineConfig.guestDirFromSystemProperty(), 4, 64, 4096,
                Duration.ofSeconds(Integer.getInteger("boot.timeout", 90)));
        long t0 = System.nanoTime();
        try (Engine engine = Engine.open(config)) {
            long t1 = System.nanoTime();
            try (Sandbox sb = engine.create(new SandboxSpec("boot-main", "minimal", vcpus, memory))) {
                long t2 = System.nanoTime();
                System.out.printf("engine open %d ms, create to agent ready %d ms%n", (t1 - t0) / 1_000_000,
                        (t2 - t1) / 1_000_000);
                for (int i = 0; i < 3; i++) {
                    long t3 = System.nanoTime();
                    try {
                        ExecResult r = sb.exec(ExecRequest.shell(command));
                        System.out.printf("exec %d ms exit %d%nstdout: %s%nstderr: %s%n",
                                (System.nanoTime() - t3) / 1_000_000, r.exitCode(), r.stdoutText(), r.stderrText());
                    } catch (RuntimeException e) {
                        System.out.println("exec failed after " + (System.nanoTime() - t3) / 1_000_000 + " ms: " + e);
                        Thread.sleep(3000);
                        System.out.println("state " + sb.state());
                        break;
                    }
                }
                System.out.println("--- console ---\n" + sb.consoleTail());
                watchdog("closing the sandbox");
                long t4 = System.nanoTime();
                sb.close();
                System.out.printf("sandbox closed in %d ms%n", (System.nanoTime() - t4) / 1_000_000);
            }
        } catch (EngineException e) {
            System.out.println("FAILED " + e.kind() + ": " + e.getMessage());
            e.printStackTrace(System.out);
        }
    }
}
