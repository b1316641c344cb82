package dev.sandbox.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/**
 * The API keys a caller may send in {@code X-API-Key}: from the keys file (one a line, {@code #} comments) and
 * {@code SANDBOX_API_KEYS} (comma-separated). None means no authentication, which is allowed only on a loopback
 * address unless the operator says otherwise explicitly. Only digests are kept, and compared in constant time.
 */
final class ApiKeys {

    private final List<byte[]> digests;

    private ApiKeys(List<byte[]> digests) {
        this.digests = digests;
    }

    static ApiKeys from(ServerConfig.Access access) {
        List<String> keys = new ArrayList<>();
        for (String k : access.envKeys().split(",")) {
            keys.add(k.trim());
        }
        if (access.apiKeysFile() != null) {
            try {
                for (String line : Files.readAllLines(access.apiKeysFile(), StandardCharsets.UTF_8)) {
                    keys.add(line.strip());
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the API keys file " + access.apiKeysFile(), e);
            }
        }
        return new ApiKeys(keys.stream().filter(k -> !k.isEmpty() && !k.startsWith("#")).map(ApiKeys::digest)
                .toList());
    }

    boolean required() {
        return !digests.isEmpty();
    }

    boolean accepts(String key) {
        if (key == null) {
            return false;
        }
        byte[] d = digest(key);
        boolean ok = false;
        for (byte[] known : digests) {
            ok |= MessageDigest.isEqual(known, d);  // no early exit: every key is compared
        }
        return ok;
    }

    /**
     * Refuses to serve a non-loopback address without keys, unless {@code allowUnauthenticated}: anyone who can
     * reach the port could run code in the sandboxes.
     */
    void checkBind(String host, boolean allowUnauthenticated) {
        if (required() || allowUnauthenticated) {
            return;
        }
        boolean loopback;
        try {
            loopback = InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("cannot resolve --host " + host, e);
        }
        if (!loopback) {
            throw new IllegalArgumentException("refusing to listen on " + host + " without API keys: set"
                    + " --api-keys-file or SANDBOX_API_KEYS, or pass --allow-unauthenticated true to accept that"
                    + " anyone who reaches the port can run code here");
        }
    }

    private static byte[] digest(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
