package dev.sandbox.server;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/**
 * {@code /v1/sandboxes/{id}/exec}: runs one command and answers with its output; {@code /exec/stream}: the same
 * request, answered as NDJSON lines while the command runs (see {@link ExecStream}).
 */
final class ExecService implements HttpService {

    static final String NDJSON = "application/x-ndjson";
    private static final Logger LOG = LoggerFactory.getLogger(ExecService.class);

    private final SandboxService sandboxes;
    private final Json json;
    private final int maxTimeoutSec;
    private final Metrics metrics;

    ExecService(SandboxService sandboxes, Json json, int maxTimeoutSec, Metrics metrics) {
        this.sandboxes = sandboxes;
        this.json = json;
        this.maxTimeoutSec = maxTimeoutSec;
        this.metrics = metrics;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/{id}/exec", this::exec)
                .post("/{id}/exec/stream", this::stream);
    }

    private void exec(ServerRequest req, ServerResponse res) {
        String id = SandboxesService.id(req);
        sandboxes.get(id);  // an unknown id is a 404 whatever the body says
        ExecCommand cmd = ExecCommand.parse(json.body(req), maxTimeoutSec);
        ExecResponse out;
        try {
            out = sandboxes.exec(id, cmd);
        } catch (RuntimeException e) {
            metrics.exec("exec", "error");
            throw e;
        }
        metrics.exec("exec", out.timedOut() ? "timed_out" : "exited");
        json.send(res, 200, out);
    }

    private void stream(ServerRequest req, ServerResponse res) {
        String id = SandboxesService.id(req);
        sandboxes.get(id);
        ExecCommand cmd = ExecCommand.parse(json.body(req), maxTimeoutSec);
        ExecStream.Event last = null;
        try (ExecStream stream = sandboxes.execStream(id, cmd)) {  // refusals are still plain error answers here
            res.status(200).header(HeaderNames.CONTENT_TYPE, NDJSON);
            try (OutputStream out = res.outputStream()) {
                ExecStream.Event event;
                while ((event = stream.next()) != null) {
                    out.write(json.write(event));
                    out.write('\n');
                    out.flush();  // each line as it comes: this is what the endpoint is for
                    last = event.last() ? event : null;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new InterruptedIOException("exec/stream interrupted"));
        } catch (IOException | UncheckedIOException | CloseConnectionException e) {
            // The client went away (Helidon's writes say so with CloseConnectionException): the stream is closed,
            // the command killed, the gate left; nobody to answer. Rethrown, Helidon closes the connection.
            LOG.info("exec/stream in {}: the client went away ({})", id, e.toString());
            throw e instanceof RuntimeException r ? r : new UncheckedIOException((IOException) e);
        } finally {
            metrics.exec("exec_stream", switch (last) {
                case ExecStream.Exit x when x.timedOut() -> "timed_out";
                case ExecStream.Exit x -> "exited";
                case null, default -> "error";
            });
        }
    }
}
