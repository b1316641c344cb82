package dev.sandbox.load;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.UUID;

/** The few calls of the Sandbox API the scenario makes; each returns normally only on the contract's success code. */
public final class ApiClient {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http;
    private final URI base;
    private final Duration timeout;

    public ApiClient(HttpClient http, URI base, Duration timeout) {
        this.http = http;
        this.base = base;
        this.timeout = timeout;
    }

    public String create(int memoryMb) throws IOException, InterruptedException {
        JsonNode body = JSON.readTree(send(post("/v1/sandboxes", "{\"memory_mb\":" + memoryMb + "}"), 201));
        return body.path("id").asText();
    }

    public void exec(String id, String cmd) throws IOException, InterruptedException {
        JsonNode body = JSON.readTree(send(post("/v1/sandboxes/" + id + "/exec",
                JSON.writeValueAsString(JSON.createObjectNode().put("cmd", cmd))), 200));
        if (body.path("exit_code").asInt(-1) != 0) {
            throw new IOException("exec " + cmd + " exited " + body.path("exit_code"));
        }
    }

    public void writeFile(String id, String path, byte[] content) throws IOException, InterruptedException {
        String boundary = "load-" + UUID.randomUUID();
        ByteArrayOutputStream body = new ByteArrayOutputStream(content.length + 512);
        body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\n" + path
                + "\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.writeBytes(content);
        body.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        send(request("/v1/sandboxes/" + id + "/files/write")
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(), 204);
    }

    public void readFile(String id, String path, byte[] expected) throws IOException, InterruptedException {
        byte[] got = send(post("/v1/sandboxes/" + id + "/files/read",
                JSON.writeValueAsString(JSON.createObjectNode().put("path", path))), 200);
        if (!Arrays.equals(expected, got)) {
            throw new IOException("read back " + got.length + " bytes that differ from the " + expected.length
                    + " written");
        }
    }

    public void pause(String id) throws IOException, InterruptedException {
        send(post("/v1/sandboxes/" + id + "/pause", ""), 200);
    }

    public void resume(String id) throws IOException, InterruptedException {
        send(post("/v1/sandboxes/" + id + "/resume", ""), 200);
    }

    public void destroy(String id) throws IOException, InterruptedException {
        send(request("/v1/sandboxes/" + id).DELETE().build(), 204);
    }

    private HttpRequest post(String path, String json) {
        return request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build();
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(base.resolve(path)).timeout(timeout);
    }

    private byte[] send(HttpRequest request, int expected) throws IOException, InterruptedException {
        HttpResponse<byte[]> res = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        if (res.statusCode() != expected) {
            throw new IOException(request.method() + " " + request.uri().getPath() + " answered " + res.statusCode()
                    + ": " + new String(res.body(), 0, Math.min(300, res.body().length), StandardCharsets.UTF_8));
        }
        return res.body();
    }
}
