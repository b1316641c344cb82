package dev.sandbox.server;

import dev.sandbox.engine.agent.AgentClient;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * Directories in a sandbox (extensions, not in the contract): {@code GET /{id}/files?path=} lists,
 * {@code POST /{id}/files/mkdir} creates with parents, {@code DELETE /{id}/files?path=&recursive=} removes. Paths
 * are checked as for files/read and files/write ({@link GuestPath}); trailing slashes are dropped.
 */
final class DirsService implements HttpService {

    /** The most entries a listing returns; past it the answer says {@code "truncated": true}. */
    static final int MAX_ENTRIES = AgentClient.DEFAULT_MAX_ENTRIES;

    private final SandboxService sandboxes;
    private final Json json;

    DirsService(SandboxService sandboxes, Json json) {
        this.sandboxes = sandboxes;
        this.json = json;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/{id}/files", this::list)
                .delete("/{id}/files", this::remove)
                .post("/{id}/files/mkdir", this::mkdir);
    }

    private void list(ServerRequest req, ServerResponse res) {
        String id = SandboxesService.id(req);
        sandboxes.get(id);  // 404 for an unknown sandbox before looking at the query
        String path = GuestPath.directory(query(req, "path"));
        json.send(res, 200, DirListingResponse.of(path, sandboxes.listDirectory(id, path, MAX_ENTRIES)));
    }

    private void mkdir(ServerRequest req, ServerResponse res) {
        String id = SandboxesService.id(req);
        sandboxes.get(id);
        String path = GuestPath.target(json.body(req).requiredString("path"), "mkdir");
        sandboxes.makeDirectory(id, path);
        res.status(Status.NO_CONTENT_204).send();
    }

    private void remove(ServerRequest req, ServerResponse res) {
        String id = SandboxesService.id(req);
        sandboxes.get(id);
        String path = GuestPath.target(query(req, "path"), "delete");
        boolean recursive = switch (req.query().first("recursive").orElse("false")) {
            case "true" -> true;
            case "false" -> false;
            default -> throw Fields.bad("recursive must be true or false");
        };
        sandboxes.remove(id, path, recursive);
        res.status(Status.NO_CONTENT_204).send();
    }

    private static String query(ServerRequest req, String name) {
        return req.query().first(name).orElseThrow(() -> Fields.bad("query parameter '" + name + "' is required"));
    }
}
