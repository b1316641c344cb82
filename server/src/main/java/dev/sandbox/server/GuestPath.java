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

    /** As {@link #check}, without trailing slashes ("/tmp/" is "/tmp"; "/" stays). */
    static String directory(String path) {
        String p = check(path);
        int end = p.length();
        while (end > 1 && p.charAt(end - 1) == '/') {
            end--;
        }
        return p.substring(0, end);
    }

    /**
     * A path to create or delete: as {@link #directory}, but never the root, nor a path whose last component is
     * "." or ".." (the agent refuses those too; "/tmp/.." would be "/").
     */
    static String target(String path, String what) {
        String p = directory(path);
        String last = p.substring(p.lastIndexOf('/') + 1);
        if (p.equals("/") || last.equals(".") || last.equals("..")) {
            throw Fields.bad(what + " refuses '" + path + "': not the root directory, and not a path ending in"
                    + " '.' or '..'");
        }
        return p;
    }
}
