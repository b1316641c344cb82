package dev.sandbox.engine.agent;

import dev.sandbox.engine.agent.AgentException.Kind;
import dev.sandbox.engine.agent.AgentMessage.Reply;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The directory calls of {@link AgentClient} (protocol version 2): list, mkdir, remove. On a connection that
 * negotiated version 1 (an agent from before them) they fail with UNSUPPORTED before anything is sent.
 */
final class AgentDirs {

    private final Calls calls;
    private final int version;

    AgentDirs(Calls calls, int version) {
        this.calls = calls;
        this.version = version;
    }

    DirListing list(String path, int maxEntries, Duration timeout) {
        requireVersion("list");
        int max = Math.clamp(maxEntries, 0, AgentCodec.MAX_LIST);
        ListCall call = new ListCall(max);
        int id = calls.start(call, new AgentMessage.ListDir(path, max));
        ListCall.Result r = calls.await(id, call, timeout, "list " + path);
        return new DirListing(path, r.entries(), r.truncated());
    }

    boolean mkdir(String path, int mode, Duration timeout) {
        requireVersion("mkdir");
        return calls.simple(new AgentMessage.Mkdir(path, mode), AgentMessage.MkdirOk.class, timeout, "mkdir " + path)
                .created();
    }

    long remove(String path, boolean recursive, Duration timeout) {
        requireVersion("remove");
        return calls.simple(new AgentMessage.Remove(path, recursive ? AgentMessage.Remove.RECURSIVE : 0),
                AgentMessage.RemoveOk.class, timeout, "remove " + path).removed();
    }

    private void requireVersion(String what) {
        if (version < AgentCodec.DIRECTORIES_VERSION) {
            throw new AgentException(Kind.UNSUPPORTED, what + ": the guest agent speaks protocol version " + version
                    + "; directory calls need version " + AgentCodec.DIRECTORIES_VERSION
                    + " (a sandbox made before they existed: recreate it)");
        }
    }

    /** Collects the chunks; a guest that sends more than it was asked for breaks the protocol. */
    private static final class ListCall extends Call<ListCall.Result> {
        record Result(List<DirEntry> entries, boolean truncated) {}

        private final int max;
        private final List<DirEntry> entries = new ArrayList<>();

        ListCall(int max) {
            this.max = max;
        }

        @Override
        boolean handle(Reply r) {
            switch (r) {
                case AgentMessage.DirEntries d -> {
                    if (entries.size() + d.entries().size() > max) {
                        future.completeExceptionally(new AgentException(Kind.PROTOCOL,
                                "agent listed more than the " + max + " entries asked for"));
                        return true;
                    }
                    d.entries().forEach(e -> entries.add(DirEntry.of(e)));
                }
                case AgentMessage.ListEnd e -> {
                    if (e.count() != entries.size()) {
                        future.completeExceptionally(new AgentException(Kind.PROTOCOL,
                                "list end says " + e.count() + " entries, " + entries.size() + " arrived"));
                    } else {
                        future.complete(new Result(entries, (e.flags() & AgentMessage.ListEnd.TRUNCATED) != 0));
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
