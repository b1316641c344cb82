package dev.sandbox.server;

import dev.sandbox.engine.agent.ProcessInfo;
import dev.sandbox.engine.agent.ProcessOutput;
import dev.sandbox.engine.agent.ProcessSignal;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * Background processes in a sandbox (extensions, not in the contract): {@code POST /{id}/processes} starts one,
 * {@code GET /{id}/processes[/{pid}]} shows them, {@code GET /{id}/processes/{pid}/stream} streams the output as
 * NDJSON, {@code POST /{id}/processes/{pid}/signal} signals. The processes and their output live in the guest.
 */
final class ProcessesService implements HttpService {

    static final String NDJSON = "application/x-ndjson";

    private final SandboxService sandboxes;
    private final Json json;

    ProcessesService(SandboxService sandboxes, Json json) {
        this.sandboxes = sandboxes;
        this.json = json;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/{id}/processes", this::start)
                .get("/{id}/processes", this::list)
                .get("/{id}/processes/{pid}", this::get)
                .get("/{id}/processes/{pid}/stream", this::stream)
                .post("/{id}/processes/{pid}/signal", this::signal);
    }

    private void start(ServerRequest req, ServerResponse res) {
        String id = SandboxesService.id(req);
        sandboxes.get(id);
        ProcessStartRequest start = ProcessStartRequest.parse(json.body(req));
        json.send(res, Status.CREATED_201.code(), ProcessResponse.of(sandboxes.startProcess(id, start)));
    }

    private void list(ServerRequest req, ServerResponse res) {
        String id = SandboxesService.id(req);
        sandboxes.get(id);
        json.send(res, 200, Map.of("processes", sandboxes.listProcesses(id).stream().map(ProcessResponse::of)
                .toList()));
    }

    private void get(ServerRequest req, ServerResponse res) {
        String id = SandboxesService.id(req);
        sandboxes.get(id);
        int pid = pid(req);
        ProcessInfo p = sandboxes.listProcesses(id).stream().filter(x -> x.pid() == pid).findFirst()
                .orElseThrow(() -> unknown(id, pid));
        json.send(res, 200, ProcessResponse.of(p));
    }

    private void signal(ServerRequest req, ServerResponse res) {
        String id = SandboxesService.id(req);
        sandboxes.get(id);
        int pid = pid(req);
        String name = json.body(req).requiredString("signal");
        ProcessSignal signal = ProcessSignal.parse(name).orElseThrow(() -> Fields.bad(
                "signal must be one of TERM, KILL, INT, HUP, got \"" + name + "\""));
        if (!sandboxes.signalProcess(id, pid, signal)) {
            throw ApiError.CONFLICT.exception("process " + pid + " in " + id + " has exited: nothing to signal");
        }
        res.status(Status.NO_CONTENT_204).send();
    }

    private void stream(ServerRequest req, ServerResponse res) {
        String id = SandboxesService.id(req);
        sandboxes.get(id);
        ProcessStream stream = new ProcessStream(sandboxes, json, id, pid(req));
        ProcessOutput first = stream.first(); // 404/409 still answer as errors: nothing is written yet
        res.status(200).header(HeaderNames.CONTENT_TYPE, NDJSON);
        try (OutputStream out = res.outputStream()) {
            stream.run(first, out);
        } catch (IOException | UncheckedIOException e) {
            // the client went away while the stream closed: nothing left to release
        }
    }

    /** A pid is a positive decimal number; anything else is the client's mistake (400), not an unknown one. */
    static int pid(ServerRequest req) {
        String s = req.path().pathParameters().get("pid");
        if (!s.matches("[0-9]{1,10}")) {
            throw Fields.bad("pid must be a positive integer, got \"" + s + "\"");
        }
        long v = Long.parseLong(s);
        if (v < 1 || v > Integer.MAX_VALUE) {
            throw Fields.bad("pid out of range: " + s);
        }
        return (int) v;
    }

    static ApiException unknown(String id, int pid) {
        return ApiError.NOT_FOUND.exception("no background process " + pid + " in sandbox " + id);
    }
}
