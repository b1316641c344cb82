package dev.sandbox.engine.agent;

import dev.sandbox.engine.agent.AgentException.Kind;
import dev.sandbox.engine.agent.AgentMessage.Reply;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Arrays;

/** The file transfer calls of {@link AgentClient}: upload from a stream in chunks, download to a stream. */
final class AgentFiles {

    private final Calls calls;

    AgentFiles(Calls calls) {
        this.calls = calls;
    }

    long writeFile(String path, InputStream content, int mode, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Call.Simple<AgentMessage.WriteOk> call = new Call.Simple<>(AgentMessage.WriteOk.class);
        int id = calls.start(call, new AgentMessage.WriteOpen(path, mode));
        byte[] buf = new byte[AgentCodec.CHUNK];
        try {
            for (;;) {
                int n = content.readNBytes(buf, 0, buf.length);
                if (n == 0) {
                    break;
                }
                if (call.future.isDone()) { // the agent refused early: stop sending
                    break;
                }
                if (System.nanoTime() - deadline > 0) {
                    calls.abandon(id);
                    throw new AgentException(Kind.TIMEOUT, "write " + path + " did not finish in " + timeout);
                }
                calls.send(id, new AgentMessage.WriteData(Arrays.copyOf(buf, n)));
            }
        } catch (IOException e) {
            calls.abandon(id);
            throw new AgentException(Kind.IO, "reading the content for " + path + ": " + e.getMessage(), e);
        }
        if (!call.future.isDone()) {
            calls.send(id, new AgentMessage.WriteEnd());
        }
        return calls.await(id, call, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())), "write " + path)
                .size();
    }

    long readFile(String path, OutputStream out, long maxBytes, Duration timeout) {
        ReadCall call = new ReadCall(out);
        int id = calls.start(call, new AgentMessage.Read(path, maxBytes));
        return calls.await(id, call, timeout, "read " + path);
    }

    private static final class ReadCall extends Call<Long> {
        private final OutputStream out;
        private long received;

        ReadCall(OutputStream out) {
            this.out = out;
        }

        @Override
        boolean handle(Reply r) throws IOException {
            switch (r) {
                case AgentMessage.FileData d -> {
                    out.write(d.data());
                    received += d.data().length;
                }
                case AgentMessage.FileEnd e -> {
                    if (e.size() != received) {
                        future.completeExceptionally(new AgentException(Kind.PROTOCOL,
                                "file end says " + e.size() + " bytes, " + received + " arrived"));
                    } else {
                        future.complete(received);
                    }
                }
                default -> {
                    return false;
                }
            }
            return true;
        }
    }
}
