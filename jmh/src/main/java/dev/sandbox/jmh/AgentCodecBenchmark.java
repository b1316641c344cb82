package dev.sandbox.jmh;

import dev.sandbox.engine.agent.AgentCodec;
import dev.sandbox.engine.agent.AgentMessage;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** The agent protocol's per-exec cost on the host: encode an exec request, decode an output chunk and the exit. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class AgentCodecBenchmark {

    private AgentMessage.Exec exec;
    private ByteBuffer stdout;
    private ByteBuffer exit;

    @Setup
    public void setUp() {
        exec = new AgentMessage.Exec(30_000, 1 << 20, 1 << 20, "/bin/sh", List.of("-c", "echo hello"),
                List.of("PATH=/usr/bin:/bin"), "/", new byte[0]);
        stdout = AgentCodec.encode(7, new AgentMessage.Stdout("hello\n".getBytes()));
        exit = AgentCodec.encode(7, new AgentMessage.Exit(0, 0, 0, 1_000_000L));
    }

    @Benchmark
    public ByteBuffer encodeExec() {
        return AgentCodec.encode(7, exec);
    }

    @Benchmark
    public Object decodeStdoutAndExit() {
        AgentCodec.decode(stdout);
        return AgentCodec.decode(exit);
    }
}
