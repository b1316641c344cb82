package dev.sandbox.server;

/** An error decided by the server itself (validation, state checks), already carrying its {@link ApiError}. */
final class ApiException extends RuntimeException {

    private final ApiError error;

    ApiException(ApiError error, String message) {
        super(message);
        this.error = error;
    }

    ApiError error() {
        return error;
    }
}
