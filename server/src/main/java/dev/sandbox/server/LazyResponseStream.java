package dev.sandbox.server;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Opens the response stream only at the first byte, so an error found before any data (file not found) can still
 * be answered with a status and a JSON body.
 */
final class LazyResponseStream extends OutputStream {

    private final ServerResponse res;
    private final String contentType;
    private OutputStream out;

    LazyResponseStream(ServerResponse res, String contentType) {
        this.res = res;
        this.contentType = contentType;
    }

    private OutputStream out() {
        if (out == null) {
            res.header(HeaderNames.CONTENT_TYPE, contentType);
            out = res.outputStream();
        }
        return out;
    }

    @Override
    public void write(int b) throws IOException {
        out().write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (len > 0) {
            out().write(b, off, len);
        }
    }

    @Override
    public void flush() throws IOException {
        if (out != null) {
            out.flush();
        }
    }

    /** Ends the response: closes the stream, or sends an empty body if nothing was written. */
    @Override
    public void close() throws IOException {
        if (out != null) {
            out.close();
        } else {
            res.header(HeaderNames.CONTENT_TYPE, contentType).send();
        }
    }
}
