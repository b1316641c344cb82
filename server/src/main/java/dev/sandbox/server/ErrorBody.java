package dev.sandbox.server;

/** The contract's error body: {@code {"error":{"code":"...","message":"..."}}}. */
record ErrorBody(Detail error) {

    record Detail(String code, String message) {
    }

    static ErrorBody of(ApiError error, String message) {
        return new ErrorBody(new Detail(error.code(), message == null ? error.code() : message));
    }
}
