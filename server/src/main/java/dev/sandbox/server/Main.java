package dev.sandbox.server;

import io.helidon.webserver.WebServer;

import java.nio.file.Files;

/** Starts the REST server. */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        ServerConfig config;
        try {
            config = ServerConfig.from(args, System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(2);
            return;
        }
        Files.createDirectories(config.dataDir());
        WebServer server = start(config);
        System.out.printf("sandbox server listening on http://%s:%d (data in %s)%n",
                config.host(), server.port(), config.dataDir());
        Runtime.getRuntime().addShutdownHook(new Thread(server::stop, "shutdown"));
    }

    public static WebServer start(ServerConfig config) {
        return WebServer.builder()
                .host(config.host())
                .port(config.port())
                .routing(Routes::register)
                .build()
                .start();
    }
}
