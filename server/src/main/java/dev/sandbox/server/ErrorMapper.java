package dev.sandbox.server;

import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.agent.AgentException;
import io.helidon.http.HeaderNames;
import io.helidon.http.RequestException;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The one place where exceptions become HTTP answers (registered with {@code routing.error(...)}). */
final class ErrorMapper {

    private static final Logger LOG = LoggerFactory.getLogger(ErrorMapper.class);

    private final Json json;

    ErrorMapper(Json json) {
        this.json = json;
    }

    void handle(ServerRequest req, ServerResponse res, Throwable e) {
        ApiError error = classify(e);
        if (error == ApiError.INTERNAL) {
            LOG.error("{} {} failed", req.prologue().method(), req.prologue().uriPath().path(), e);
        } else if (error.status() >= 500) {
            LOG.warn("{} {}: {}", req.prologue().method(), req.prologue().uriPath().path(), e.getMessage());
        }
        if (res.isSent()) {
            // Streaming had begun (a download): the status is gone; closing the connection is all that is left.
            throw new IllegalStateException("response already started", e);
        }
        if (e instanceof ApiException a && a.retryAfterSec() > 0) {
            res.header(HeaderNames.RETRY_AFTER, String.valueOf(a.retryAfterSec()));
        }
        json.send(res, error.status(), ErrorBody.of(error, message(error, e)));
    }

    static ApiError classify(Throwable e) {
        return switch (e) {
            case ApiException a -> a.error();
            case EngineException x -> switch (x.kind()) {
                case INVALID_SPEC -> ApiError.BAD_REQUEST;
                case INVALID_STATE -> ApiError.INVALID_STATE;
                case CONFIG -> ApiError.AGENT_ERROR;
                case BOOT_FAILED, VM_FAILED -> ApiError.AGENT_ERROR;
            };
            case AgentException x -> switch (x.kind()) {
                case NOT_FOUND -> ApiError.NOT_FOUND;
                case IS_DIRECTORY, NOT_DIRECTORY, INVALID -> ApiError.BAD_REQUEST;
                case EXISTS, NOT_EMPTY -> ApiError.CONFLICT;
                case UNSUPPORTED -> ApiError.NOT_IMPLEMENTED;
                case PERMISSION_DENIED -> ApiError.PERMISSION_DENIED;
                case TOO_LARGE -> ApiError.TOO_LARGE;
                case TIMEOUT -> ApiError.TIMEOUT;
                case BUSY -> ApiError.TOO_MANY_REQUESTS;  // the guest's bounds: requests in flight, processes
                default -> ApiError.AGENT_ERROR;
            };
            // Helidon's own parsing failures (bad path encoding, malformed headers) are the client's fault.
            case RequestException r when r.status().code() < 500 -> ApiError.BAD_REQUEST;
            default -> ApiError.INTERNAL;
        };
    }

    static String message(ApiError error, Throwable e) {
        if (error == ApiError.INTERNAL) {
            return "internal error: " + e.getClass().getSimpleName();
        }
        return e.getMessage();
    }
}
