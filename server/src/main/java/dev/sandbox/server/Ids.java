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
}
