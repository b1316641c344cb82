package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;

/**
 * Real HTTP to a running server (java.net.http), every answer checked against the contract when the call names
 * the contract operation it exercises. Remembers which operations and statuses were seen.
 */
final class ApiClient {

    static final ObjectMapper JSON = new ObjectMapper();

    record Response(int status, String contentType, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException("not JSON: " + text(), e);
            }
        }

        String errorCode() {
            return json().path("error").path("code").asText(null);
        }
    }

    /** The answer is this status with the contract's error body carrying this code. */
    static void assertError(int status, String code, Response r) {
        org.junit.jupiter.api.Assertions.assertEquals(status, r.status(), r.text());
        org.junit.jupiter.api.Assertions.assertEquals(code, r.errorCode(), r.text());
    }

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final String base;
    private final ContractValidator contract;
    private final Set<String> seen = new ConcurrentSkipListSet<>();

    private final String apiKey;

    ApiClient(int port, ContractValidator contract) {
        this(port, contract, null);
    }

    /** Sends {@code apiKey} as X-API-Key on every call (none if null). */
    ApiClient(int port, ContractValidator contract, String apiKey) {
        this.base = "http://127.0.0.1:" + port;
        this.contract = contract;
        this.apiKey = apiKey;
    }

    /** Operations and statuses seen, as "METHOD /path STATUS". */
    Set<String> seen() {
        return seen;
    }

    Response get(String template, String id) {
        return call("GET", template, id, null, HttpRequest.BodyPublishers.noBody());
    }

    Response delete(String template, String id) {
        return call("DELETE", template, id, null, HttpRequest.BodyPublishers.noBody());
    }

    Response post(String template, String id, String json) {
        return call("POST", template, id, "application/json",
                json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
    }

    Response create(String json) {
        return post("/v1/sandboxes", null, json);
    }

    Response exec(String id, String json) {
        return post("/v1/sandboxes/{id}/exec", id, json);
    }

    Response upload(String id, String path, byte[] content) {
        Multipart form = new Multipart().field("path", path).file("file", "data.bin", content);
        return call("POST", "/v1/sandboxes/{id}/files/write", id, form.contentType(),
                HttpRequest.BodyPublishers.ofByteArray(form.bytes()));
    }

    /**
     * As {@link #upload}, but sent chunked, without a Content-Length: the server learns the size only while it
     * streams the file to the sandbox.
     */
    Response uploadChunked(String id, String path, byte[] content) {
        Multipart form = new Multipart().field("path", path).file("file", "data.bin", content);
        byte[] bytes = form.bytes();
        return call("POST", "/v1/sandboxes/{id}/files/write", id, form.contentType(),
                HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(bytes)));
    }

    /** GET /health (outside the contract: checked against openapi-extensions.yaml). */
    Response health() {
        Response r = raw("GET", "/health", null, HttpRequest.BodyPublishers.noBody());
        if (r.status() != 401) {
            contract.validateExtension("GET /health", "Health", r.json());
        }
        return r;
    }

    /**
     * POST exec/stream (outside the contract: checked against openapi-extensions.yaml). A refusal comes back
     * whole, its error body checked; a 200 comes back open, as lines for the caller to read and close.
     */
    Stream stream(String id, String json) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes/" + id + "/exec/stream"))
                .timeout(Duration.ofSeconds(300)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json));
        if (apiKey != null) {
            b.header("X-API-Key", apiKey);
        }
        try {
            HttpResponse<java.io.InputStream> res = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            String type = res.headers().firstValue("content-type").orElse(null);
            if (res.statusCode() != 200) {
                byte[] body;
                try (var in = res.body()) {
                    body = in.readAllBytes();
                }
                Response r = new Response(res.statusCode(), type, body);
                org.junit.jupiter.api.Assertions.assertTrue(type != null && type.startsWith("application/json"),
                        "exec/stream " + r.status() + ": " + type);
                contract.validateExtension("POST exec/stream " + r.status(), "Error", r.json());
                org.junit.jupiter.api.Assertions.assertTrue(r.json().path("error").path("message").isTextual(),
                        r.text());
                return new Stream(r, null);
            }
            org.junit.jupiter.api.Assertions.assertEquals(ExecService.NDJSON, type);
            return new Stream(new Response(200, type, new byte[0]),
                    new java.io.BufferedReader(new java.io.InputStreamReader(res.body(), StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new UncheckedIOException("exec/stream", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** An exec/stream answer: a refusal ({@code lines} null), or the open NDJSON body. */
    record Stream(Response response, java.io.BufferedReader lines) implements AutoCloseable {
        int status() {
            return response.status();
        }

        /** The next event, checked against ExecStreamEvent; null at the end of the body. */
        JsonNode next(ContractValidator contract) {
            try {
                String line = lines.readLine();
                if (line == null) {
                    return null;
                }
                JsonNode event = JSON.readTree(line);
                contract.validateExtension("exec/stream line", "ExecStreamEvent", event);
                return event;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void close() {
            if (lines != null) {
                try {
                    lines.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
    }

    Response download(String id, String path) {
        return post("/v1/sandboxes/{id}/files/read", id, "{\"path\":" + quote(path) + "}");
    }

    static final String DIRS = "/v1/sandboxes/{id}/files";
    static final String MKDIR = "/v1/sandboxes/{id}/files/mkdir";

    /** GET /v1/sandboxes/{id}/files?path= (an extension operation: checked against openapi-extensions.yaml). */
    Response listDir(String id, String path) {
        return withQuery("GET", DIRS, id, path == null ? "" : "path=" + enc(path));
    }

    Response mkdir(String id, String path) {
        return post(MKDIR, id, "{\"path\":" + quote(path) + "}");
    }

    /** DELETE /v1/sandboxes/{id}/files?path=&recursive= ({@code recursive} null: left out). */
    Response deletePath(String id, String path, String recursive) {
        return withQuery("DELETE", DIRS, id, "path=" + enc(path) + (recursive == null ? "" : "&recursive="
                + enc(recursive)));
    }

    /** A call with a query string, checked against the operation of {@code template}. */
    Response withQuery(String method, String template, String id, String query) {
        String path = template.replace("{id}", id) + (query.isEmpty() ? "" : "?" + query);
        Response r = raw(method, path, null, HttpRequest.BodyPublishers.noBody());
        contract.validate(method, template, r.status(), r.contentType(), r.body());
        seen.add(method + " " + template + " " + r.status());
        return r;
    }

    static final String PROCESSES = "/v1/sandboxes/{id}/processes";
    static final String PROCESS = "/v1/sandboxes/{id}/processes/{pid}";
    static final String PROCESS_STREAM = "/v1/sandboxes/{id}/processes/{pid}/stream";
    static final String PROCESS_SIGNAL = "/v1/sandboxes/{id}/processes/{pid}/signal";

    /** A call on an operation with {id} and {pid} in its template (validated against the template). */
    Response process(String method, String template, String id, String pid, String json) {
        String path = template.replace("{id}", id).replace("{pid}", pid);
        Response r = raw(method, path, json == null ? null : "application/json",
                json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        contract.validate(method, template, r.status(), r.contentType(), r.body());
        seen.add(method + " " + template + " " + r.status());
        return r;
    }

    Response startProcess(String id, String json) {
        return process("POST", PROCESSES, id, "", json);
    }

    /**
     * Opens a process's output stream; the caller reads lines as they come (and closes it). A non-200 answer is
     * validated and thrown as an AssertionError with its body.
     */
    StreamedLines streamProcess(String id, String pid) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + PROCESS_STREAM.replace("{id}", id)
                .replace("{pid}", pid))).timeout(Duration.ofSeconds(600)).GET();
        if (apiKey != null) {
            b.header("X-API-Key", apiKey);
        }
        try {
            HttpResponse<java.io.InputStream> res = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            String type = res.headers().firstValue("content-type").orElse(null);
            contract.validate("GET", PROCESS_STREAM, res.statusCode(), type,
                    res.statusCode() == 200 ? new byte[0] : res.body().readAllBytes());
            seen.add("GET " + PROCESS_STREAM + " " + res.statusCode());
            if (res.statusCode() != 200) {
                throw new AssertionError("stream answered " + res.statusCode());
            }
            return new StreamedLines(res.body(), contract);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** NDJSON lines of a process stream, each checked against ProcessStreamEvent as it is read. */
    static final class StreamedLines implements AutoCloseable {
        private final java.io.BufferedReader reader;
        private final java.io.InputStream in;
        private final ContractValidator contract;

        StreamedLines(java.io.InputStream in, ContractValidator contract) {
            this.in = in;
            this.reader = new java.io.BufferedReader(new java.io.InputStreamReader(in, StandardCharsets.UTF_8));
            this.contract = contract;
        }

        /** The next line as JSON, or null at the end of the response. */
        JsonNode next() {
            try {
                String line = reader.readLine();
                if (line == null) {
                    return null;
                }
                JsonNode node = JSON.readTree(line);
                contract.validateExtension("stream line", "ProcessStreamEvent", node);
                return node;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    static String enc(String s) {
        return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** A call on a contract operation; {id} in the template is replaced by {@code id}. */
    Response call(String method, String template, String id, String contentType,
                  HttpRequest.BodyPublisher body) {
        // the path's one parameter: a sandbox's {id} or a template's {name}
        String path = id == null ? template : template.replace("{id}", id).replace("{name}", id);
        Response r = raw(method, path, contentType, body);
        contract.validate(method, template, r.status(), r.contentType(), r.body());
        seen.add(method + " " + template + " " + r.status());
        return r;
    }

    /** A call checked against nothing (paths outside the contract). */
    Response raw(String method, String path, String contentType, HttpRequest.BodyPublisher body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(300))  // a boot in the nested KVM host is slow
                .method(method, body);
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        if (apiKey != null) {
            b.header("X-API-Key", apiKey);
        }
        try {
            HttpResponse<byte[]> res = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            return new Response(res.statusCode(), res.headers().firstValue("content-type").orElse(null),
                    res.body());
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + path, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static String quote(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A multipart/form-data body built by hand, so tests can also build broken ones. */
    static final class Multipart {
        final String boundary = "----sandbox-test-boundary-7d3f";
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Multipart field(String name, String value) {
            head("Content-Disposition: form-data; name=\"" + name + "\"\r\n");
            out.writeBytes(value.getBytes(StandardCharsets.UTF_8));
            out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        Multipart file(String name, String filename, byte[] content) {
            head("Content-Disposition: form-data; name=\"" + name + "\"; filename=\"" + filename + "\"\r\n"
                    + "Content-Type: application/octet-stream\r\n");
            out.writeBytes(content);
            out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        private void head(String headers) {
            out.writeBytes(("--" + boundary + "\r\n" + headers + "\r\n").getBytes(StandardCharsets.US_ASCII));
        }

        String contentType() {
            return "multipart/form-data; boundary=" + boundary;
        }

        byte[] bytes() {
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            all.writeBytes(out.toByteArray());
            all.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
            return all.toByteArray();
        }
    }
}
