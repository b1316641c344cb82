package dev.sandbox.server;

import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.http.media.multipart.MultiPart;
import io.helidon.http.media.multipart.ReadablePart;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * {@code /v1/sandboxes/{id}/files/write} and {@code files/read}. Contents are streamed both ways, never held whole
 * in memory: an upload goes from the request straight to the engine when the {@code path} part comes first (as the
 * contract lists it), else through a temporary file in the data dir.
 */
final class FilesService implements HttpService {

    /** Room for the multipart framing and the path part around the file itself. */
    private static final long FORM_OVERHEAD = 64 * 1024;
    /**
     * A refused upload's body is read and dropped up to this much more than the limit, so that a client which
     * sends its whole body before reading (Python's http.client, urllib, requests) reads the 413 or 409 instead
     * of a broken pipe; past it the connection is closed after the answer rather than reading on without end.
     */
    private static final long DRAIN_BEYOND_LIMIT = 64L * 1024 * 1024;

    private final SandboxService sandboxes;
    private final Json json;
    private final long maxFileBytes;
    private final Path spoolDir;
    private final Metrics metrics;

    FilesService(SandboxService sandboxes, Json json, long maxFileBytes, Path spoolDir, Metrics metrics) {
        this.sandboxes = sandboxes;
        this.metrics = metrics;
        this.json = json;
        this.maxFileBytes = maxFileBytes;
        this.spoolDir = spoolDir;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/{id}/files/write", this::write)
                .post("/{id}/files/read", this::read);
    }

    private void write(ServerRequest req, ServerResponse res) {
        try {
            receive(req, res);
        } catch (RuntimeException e) {
            refuseBody(req, res);
            throw e;
        }
    }

    /**
     * The body of a refused upload: Helidon reads what is left of it after the answer (the client then reads the
     * answer), but without bound. A body declared or found to be larger than the drain bound closes the
     * connection after the answer instead; a chunked one is drained here, up to the bound.
     */
    private void refuseBody(ServerRequest req, ServerResponse res) {
        long bound = maxFileBytes + FORM_OVERHEAD + DRAIN_BEYOND_LIMIT;
        long declared = req.headers().contentLength().orElse(-1L);
        if (declared > bound) {
            res.header(HeaderValues.CONNECTION_CLOSE);
        } else if (declared < 0 && !req.content().consumed()) {
            try {
                if (!drain(req.content().inputStream(), bound)) {
                    res.header(HeaderValues.CONNECTION_CLOSE);
                }
            } catch (IllegalStateException alreadyTaken) {
                // the multipart reader has the stream: what it left is small (the drained part's remainder)
            }
        }
    }

    private void receive(ServerRequest req, ServerResponse res) {
        String id = SandboxesService.id(req);
        sandboxes.requireRunning(id, "files/write");  // 404 / 409 before reading a large body
        String type = req.headers().first(HeaderNames.CONTENT_TYPE).orElse("").toLowerCase(Locale.ROOT);
        if (!type.startsWith("multipart/form-data")) {
            throw Fields.bad("files/write takes multipart/form-data with parts 'path' and 'file'");
        }
        if (req.headers().contentLength().orElse(0) > maxFileBytes + FORM_OVERHEAD) {
            throw tooLarge();
        }
        // the deadline grows with what may come: the declared length, else the limit
        Upload upload = new Upload(id, Math.min(req.headers().contentLength().orElse(maxFileBytes), maxFileBytes));
        try {
            MultiPart parts = req.content().as(MultiPart.class);
            while (Multipart.hasNext(parts)) {
                upload.accept(Multipart.next(parts));
            }
            upload.finish();
            metrics.uploaded(upload.bytes());
        } finally {
            upload.cleanUp();
        }
        res.status(Status.NO_CONTENT_204).send();
    }

    private void read(ServerRequest req, ServerResponse res) {
        String id = SandboxesService.id(req);
        sandboxes.get(id);
        String path = GuestPath.check(json.body(req).requiredString("path"));
        LazyResponseStream out = new LazyResponseStream(res, "application/octet-stream");
        metrics.downloaded(sandboxes.readFile(id, path, out));
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private ApiException tooLarge() {
        return ApiError.TOO_LARGE.exception("file larger than the limit of " + maxFileBytes + " bytes");
    }

    /** The parts of one upload, in whatever order they come. */
    private final class Upload {
        private final String id;
        private final long expectedBytes;
        private String path;
        private boolean written;
        private Path spooled;
        private LimitedInputStream file;

        Upload(String id, long expectedBytes) {
            this.id = id;
            this.expectedBytes = expectedBytes;
        }

        void accept(ReadablePart part) {
            switch (part.name()) {
                case "path" -> path = GuestPath.check(Multipart.text(part));
                case "file" -> {
                    if (written || spooled != null) {
                        throw Fields.bad("exactly one 'file' part expected");
                    }
                    LimitedInputStream in = new LimitedInputStream(part.inputStream(), maxFileBytes);
                    file = in;
                    if (path != null) {
                        send(in);
                        written = true;
                    } else {
                        spooled = spool(in);
                    }
                }
                default -> part.consume();
            }
        }

        void finish() {
            if (path == null) {
                throw Fields.bad("the 'path' part is required");
            }
            if (written) {
                return;
            }
            if (spooled == null) {
                throw Fields.bad("the 'file' part is required");
            }
            try (InputStream in = Files.newInputStream(spooled)) {
                sandboxes.writeFile(id, path, in, expectedBytes);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private void send(LimitedInputStream in) {
            try {
                sandboxes.writeFile(id, path, in, expectedBytes);
            } catch (RuntimeException e) {
                if (in.exceeded()) {
                    drain(in);
                    throw tooLarge();
                }
                throw e;
            }
            if (in.exceeded()) {
                throw tooLarge();
            }
        }

        private Path spool(LimitedInputStream in) {
            try {
                Files.createDirectories(spoolDir);
                Path tmp = Files.createTempFile(spoolDir, "upload-", ".part");
                try {
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                } catch (IOException e) {
                    Files.deleteIfExists(tmp);
                    if (in.exceeded()) {
                        drain(in);
                        throw tooLarge();
                    }
                    throw e;
                }
                return tmp;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** The file's size, once it is in the sandbox. */
        long bytes() {
            return file == null ? 0 : file.count();
        }

        void cleanUp() {
            if (spooled != null) {
                try {
                    Files.deleteIfExists(spooled);
                } catch (IOException ignored) {
                    // a leftover temp file is harmless; the next start does not read it
                }
            }
        }
    }

    /** Reads and drops what is left of a refused part, up to a bound. */
    private static void drain(LimitedInputStream limited) {
        drain(limited.in(), DRAIN_BEYOND_LIMIT);
    }

    /** Reads and drops up to {@code limit} bytes; true if the stream ended within them. */
    private static boolean drain(InputStream in, long limit) {
        byte[] buf = new byte[64 * 1024];
        long total = 0;
        try {
            int n;
            while ((n = in.read(buf)) > 0) {
                total += n;
                if (total > limit) {
                    return false;
                }
            }
            return true;
        } catch (IOException e) {
            return false;  // the client went away or broke the framing: nothing more to read
        }
    }

    /** Helidon's multipart reader, with malformed input turned into 400s. */
    private static final class Multipart {
        static boolean hasNext(MultiPart parts) {
            try {
                return parts.hasNext();
            } catch (RuntimeException e) {
                throw Fields.bad("malformed multipart body: " + e.getMessage());
            }
        }

        static ReadablePart next(MultiPart parts) {
            try {
                return parts.next();
            } catch (RuntimeException e) {
                throw Fields.bad("malformed multipart body: " + e.getMessage());
            }
        }

        static String text(ReadablePart part) {
            try (InputStream in = part.inputStream()) {
                byte[] bytes = in.readNBytes(GuestPath.MAX_LENGTH * 4 + 1);
                if (bytes.length > GuestPath.MAX_LENGTH * 4) {
                    throw Fields.bad("the 'path' part is too long");
                }
                return new String(bytes, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw Fields.bad("cannot read the 'path' part: " + e.getMessage());
            }
        }
    }
}
