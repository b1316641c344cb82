package dev.sandbox.server;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.TemplateInfo;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.util.List;

/**
 * {@code /v1/templates} (an extension): list and show templates, build a custom one (202: the build runs in a VM in
 * the background), delete one. The engine decides; here its refusals get their HTTP answers: an unknown name is a
 * 404 (the engine's INVALID_SPEC for it would read as a 400), a name taken or a template in use a 409.
 */
final class TemplatesService implements HttpService {

    static final String PATH = "/v1/templates";

    private final Engine engine;
    private final Json json;
    private final List<String> aptSources;

    TemplatesService(Engine engine, Json json, List<String> aptSources) {
        this.engine = engine;
        this.json = json;
        this.aptSources = List.copyOf(aptSources);
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::list)
                .post("/", this::build)
                .get("/{name}", this::get)
                .delete("/{name}", this::delete);
    }

    private static String name(ServerRequest req) {
        return req.path().pathParameters().get("name");
    }

    private void list(ServerRequest req, ServerResponse res) {
        json.send(res, 200, TemplateBody.Listing.of(engine.templates()));
    }

    private void get(ServerRequest req, ServerResponse res) {
        json.send(res, 200, TemplateBody.of(require(name(req))));
    }

    private void build(ServerRequest req, ServerResponse res) {
        TemplateRequest request = TemplateRequest.parse(json.body(req));
        requireEngine();
        TemplateInfo started = engine.buildTemplate(request.recipe(aptSources));
        res.header(HeaderNames.LOCATION, PATH + "/" + started.name());
        json.send(res, Status.ACCEPTED_202.code(), TemplateBody.of(started));
    }

    private void delete(ServerRequest req, ServerResponse res) {
        String name = name(req);
        require(name);
        requireEngine();
        try {
            engine.deleteTemplate(name);
        } catch (EngineException e) {
            if (e.kind() == EngineException.Kind.INVALID_SPEC) {
                throw notFound(name);  // deleted meanwhile
            }
            throw e;
        }
        res.status(Status.NO_CONTENT_204).send();
    }

    private TemplateInfo require(String name) {
        return engine.template(name).orElseThrow(() -> notFound(name));
    }

    private static ApiException notFound(String name) {
        return ApiError.NOT_FOUND.exception("no template named '" + name + "'");
    }

    private void requireEngine() {
        if (engine instanceof UnavailableEngine down) {
            throw ApiError.ENGINE_UNAVAILABLE.exception("engine unavailable: " + down.reason());
        }
    }
}
