package dev.sandbox.server;

/** Checks a path inside the sandbox as the contract asks: absolute, and a plain C string. */
final class GuestPath {

    static final int MAX_LENGTH = 4096;

    private GuestPath() {
    }

    static String check(String path) {
        if (path == null || path.isEmpty()) {
            throw Fields.bad("path is required");
        }
        if (!path.startsWith("/")) {
            throw Fields.bad("path must be absolute, got '" + path + "'");
        }
        if (path.indexOf('\0') >= 0 || path.length() > MAX_LENGTH) {
            throw Fields.bad("path must be at most " + MAX_LENGTH + " characters without NUL");
        }
        return path;
    }
}
