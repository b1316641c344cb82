package dev.sandbox.server;

import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/** {@code /v1/sandboxes}: create, list, get, destroy, pause, resume. */
final class SandboxesService implements HttpService {

    private final SandboxService sandboxes;
    private final Json json;
    private final Metrics metrics;

    SandboxesService(SandboxService sandboxes, Json json, Metrics metrics) {
        this.sandboxes = sandboxes;
        this.json = json;
        this.metrics = metrics;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/", this::create)
                .get("/", this::list)
                .get("/{id}", this::get)
                .delete("/{id}", this::destroy)
                .post("/{id}/pause", this::pause)
                .post("/{id}/resume", this::resume);
    }

    static String id(ServerRequest req) {
        return req.path().pathParameters().get("id");
    }

    private void create(ServerRequest req, ServerResponse res) {
        CreateRequest create = CreateRequest.parse(json.body(req), sandboxes.limits(), sandboxes.networking());
        json.send(res, Status.CREATED_201.code(), sandboxes.create(create));
    }

    private void list(ServerRequest req, ServerResponse res) {
        json.send(res, 200, sandboxes.list());
    }

    private void get(ServerRequest req, ServerResponse res) {
        json.send(res, 200, sandboxes.get(id(req)));
    }

    private void destroy(ServerRequest req, ServerResponse res) {
        sandboxes.destroy(id(req));
        res.status(Status.NO_CONTENT_204).send();
    }

    private void pause(ServerRequest req, ServerResponse res) {
        SandboxRecord paused = sandboxes.pause(id(req));
        sandboxes.lastSnapshotBytes(paused.id()).ifPresent(metrics::snapshot);
        json.send(res, 200, paused);
    }

    private void resume(ServerRequest req, ServerResponse res) {
        json.send(res, 200, sandboxes.resume(id(req)));
    }
}
