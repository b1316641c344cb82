package dev.sandbox.server;

import java.security.SecureRandom;
import java.util.HexFormat;

/** Sandbox ids: {@code sb-} and 8 random hex digits (Wrenn's form); the store rejects the rare repeat. */
final class Ids {

    private static final SecureRandom RANDOM = new SecureRandom();

    private Ids() {
    }

    static String next() {
        byte[] b = new byte[4];
        RANDOM.nextBytes(b);
        return "sb-" + HexFormat.of().formatHex(b);
    }

    /** Could name a sandbox (ours or an embedder's): no dots or slashes, so never a path trick or a temp file. */
    static boolean plausible(String name) {
        return name.matches("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");
    }
}
