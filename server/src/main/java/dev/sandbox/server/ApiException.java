package dev.sandbox.server;

/** An error decided by the server itself (validation, state checks), already carrying its {@link ApiError}. */
final class ApiException extends RuntimeException {

    private final ApiError error;
    private final int retryAfterSec;

    ApiException(ApiError error, String message) {
        this(error, message, 0);
    }

    /** With a {@code Retry-After} (seconds) for the answer: waiting may help (capacity). */
    ApiException(ApiError error, String message, int retryAfterSec) {
        super(message);
        this.error = error;
        this.retryAfterSec = retryAfterSec;
    }

    ApiError error() {
        return error;
    }

    /** Seconds for {@code Retry-After}, 0 for none. */
    int retryAfterSec() {
        return retryAfterSec;
    }
}
