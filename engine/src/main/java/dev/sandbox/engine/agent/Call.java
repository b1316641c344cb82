package dev.sandbox.engine.agent;

import dev.sandbox.engine.agent.AgentException.Kind;
import dev.sandbox.engine.agent.AgentMessage.Final;
import dev.sandbox.engine.agent.AgentMessage.Reply;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;

/** One request in flight: consumes its reply frames, completes its future on the final one. */
abstract class Call<T> {
    final CompletableFuture<T> future = new CompletableFuture<>();

    void onReply(Reply r) throws IOException {
        if (r instanceof AgentMessage.Failure f) {
            future.completeExceptionally(f.toException());
        } else if (!handle(r)) {
            future.completeExceptionally(new AgentException(Kind.PROTOCOL, "unexpected reply " + r));
        }
    }

    /** Returns false for a frame this call cannot get. */
    abstract boolean handle(Reply r) throws IOException;

    /** A request answered by one final frame of a known type. */
    static final class Simple<T extends Final> extends Call<T> {
        private final Class<T> type;

        Simple(Class<T> type) {
            this.type = type;
        }

        @Override
        boolean handle(Reply r) {
            if (!type.isInstance(r)) {
                return false;
            }
            future.complete(type.cast(r));
            return true;
        }
    }
}
