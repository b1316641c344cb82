package dev.sandbox.engine.agent;

/**
 * One read of a background process's output. The offsets count bytes of each stream from the process's start; one
 * later than the offset asked for means the bytes between were dropped (the guest keeps the last 1 MiB of each
 * stream). {@code exited}: the process has exited and this read reached the end of both streams.
 */
public record ProcessOutput(long stdoutOffset, byte[] stdout, long stderrOffset, byte[] stderr, boolean exited,
                            int exitCode, int signal) {

    public long stdoutEnd() {
        return stdoutOffset + stdout.length;
    }

    public long stderrEnd() {
        return stderrOffset + stderr.length;
    }
}
