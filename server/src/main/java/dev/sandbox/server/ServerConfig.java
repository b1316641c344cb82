package dev.sandbox.server;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where the server listens and keeps its state. Flags win over environment variables, which win over defaults.
 *
 * @param host    bind address ({@code --host}, {@code SANDBOX_HOST}; default 127.0.0.1)
 * @param port    TCP port ({@code --port}, {@code SANDBOX_PORT}; default 8080, 0 picks a free one)
 * @param dataDir state and snapshots ({@code --data-dir}, {@code SANDBOX_DATA}; default ~/.local/share/sandbox)
 */
public record ServerConfig(String host, int port, Path dataDir) {

    public static ServerConfig from(String[] args, Map<String, String> env) {
        String host = env.getOrDefault("SANDBOX_HOST", "127.0.0.1");
        String port = env.getOrDefault("SANDBOX_PORT", "8080");
        String data = env.getOrDefault("SANDBOX_DATA", System.getProperty("user.home") + "/.local/share/sandbox");
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--host" -> host = require(args[i], value);
                case "--port" -> port = require(args[i], value);
                case "--data-dir" -> data = require(args[i], value);
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (known: --host ADDR, --port N, --data-dir DIR)");
            }
            i++;
        }
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("port must be a number, got '" + port + "'");
        }
        if (p < 0 || p > 65535) {
            throw new IllegalArgumentException("port must be 0..65535, got " + p);
        }
        return new ServerConfig(host, p, Path.of(data));
    }

    private static String require(String flag, String value) {
        if (value == null) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return value;
    }
}
