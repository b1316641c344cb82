package dev.sandbox.engine.agent;

import dev.sandbox.engine.agent.AgentException.Kind;
import dev.sandbox.engine.agent.AgentMessage.Reply;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The exec calls of {@link AgentClient}: output streamed to a listener or collected, sync or async. */
final class AgentExec {

    /** How much longer than an exec's own timeout the client waits for its EXIT frame. */
    static final Duration EXEC_GRACE = Duration.ofSeconds(10);

    private final Calls calls;

    AgentExec(Calls calls) {
        this.calls = calls;
    }

    ExecResult exec(ExecRequest request) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ExecExit exit = exec(request, new ExecListener() {
            @Override
            public void stdout(byte[] chunk) {
                out.writeBytes(chunk);
            }

            @Override
            public void stderr(byte[] chunk) {
                err.writeBytes(chunk);
            }
        });
        return ExecResult.of(out.toByteArray(), err.toByteArray(), exit);
    }

    ExecExit exec(ExecRequest request, ExecListener listener) {
        ExecCall call = new ExecCall(listener);
        int id = calls.start(call, request.toMessage());
        return calls.await(id, call, request.timeout().plus(EXEC_GRACE), "exec " + request.cmd());
    }

    CompletableFuture<ExecExit> execAsync(ExecRequest request, ExecListener listener) {
        ExecCall call = new ExecCall(listener);
        int id = calls.start(call, request.toMessage());
        CompletableFuture<ExecExit> result = new CompletableFuture<>();
        call.future.whenComplete((x, e) -> {
            if (e == null) {
                result.complete(x);
            } else {
                result.completeExceptionally(e);
            }
        });
        Duration limit = request.timeout().plus(EXEC_GRACE);
        CompletableFuture.delayedExecutor(limit.toMillis(), TimeUnit.MILLISECONDS).execute(() -> result
                .completeExceptionally(new AgentException(Kind.TIMEOUT, "exec " + request.cmd()
                        + " did not finish in " + limit)));
        result.whenComplete((x, e) -> {
            if (e != null && !call.future.isDone()) { // cancelled or timed out here: stop it in the guest
                calls.abandon(id);
            }
        });
        return result;
    }

    private static final class ExecCall extends Call<ExecExit> {
        private final ExecListener listener;

        ExecCall(ExecListener listener) {
            this.listener = listener;
        }

        @Override
        boolean handle(Reply r) {
            switch (r) {
                case AgentMessage.Stdout s -> listener.stdout(s.data());
                case AgentMessage.Stderr s -> listener.stderr(s.data());
                case AgentMessage.Exit x -> future.complete(ExecExit.of(x));
                default -> {
                    return false;
                }
            }
            return true;
        }
    }
}
