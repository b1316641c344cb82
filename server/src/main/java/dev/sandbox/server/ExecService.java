package dev.sandbox.server;

import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/** {@code /v1/sandboxes/{id}/exec}: runs one command and answers with its output. */
final class ExecService implements HttpService {

    private final SandboxService sandboxes;
    private final Json json;
    private final int maxTimeoutSec;

    ExecService(SandboxService sandboxes, Json json, int maxTimeoutSec) {
        this.sandboxes = sandboxes;
        this.json = json;
        this.maxTimeoutSec = maxTimeoutSec;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/{id}/exec", this::exec);
    }

    private void exec(ServerRequest req, ServerResponse res) {
        String id = SandboxesService.id(req);
        sandboxes.get(id);  // an unknown id is a 404 whatever the body says
        ExecCommand cmd = ExecCommand.parse(json.body(req), maxTimeoutSec);
        json.send(res, 200, sandboxes.exec(id, cmd));
    }
}
