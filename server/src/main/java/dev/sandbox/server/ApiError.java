package dev.sandbox.server;

/**
 * The closed set of error codes the API answers with, each with its HTTP status. Every error body is
 * {@code {"error":{"code","message"}}}; {@link ErrorMapper} is the one place exceptions become these.
 */
enum ApiError {
    BAD_REQUEST(400, "bad_request"),
    PERMISSION_DENIED(403, "permission_denied"),
    NOT_FOUND(404, "not_found"),
    METHOD_NOT_ALLOWED(405, "method_not_allowed"),
    INVALID_STATE(409, "invalid_state"),
    /** What is at the path stands in the way: a directory not empty, a file where a directory should be. */
    CONFLICT(409, "conflict"),
    TOO_LARGE(413, "too_large"),
    /** Too many calls of one kind at once in one sandbox (execs); the caller may retry later. */
    TOO_MANY_REQUESTS(429, "too_many_requests"),
    INTERNAL(500, "internal"),
    /**
     * The sandbox or the server cannot do this: the sandbox's guest agent predates the call (a sandbox from an older
     * snapshot), the server runs without networking, a protocol upgrade through the port proxy.
     */
    NOT_IMPLEMENTED(501, "not_implemented"),
    /** The engine or the guest agent failed (boot, VM, channel): not the caller's fault, not ours either. */
    AGENT_ERROR(502, "agent_error"),
    /** Nothing answered on the sandbox's port (refused, reset) or what answered did not speak HTTP/1.1. */
    UPSTREAM_ERROR(502, "upstream_error"),
    ENGINE_UNAVAILABLE(503, "engine_unavailable"),
    /** The host budget (memory, vCPUs, sandboxes, disk) has no room now: answered with Retry-After. */
    CAPACITY(503, "insufficient_capacity"),
    /** No or a wrong {@code X-API-Key} while keys are configured. */
    UNAUTHORIZED(401, "unauthorized"),
    TIMEOUT(504, "timeout");

    private final int status;
    private final String code;

    ApiError(int status, String code) {
        this.status = status;
        this.code = code;
    }

    int status() {
        return status;
    }

    String code() {
        return code;
    }

    ApiException exception(String message) {
        return new ApiException(this, message);
    }
}
