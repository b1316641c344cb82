package dev.sandbox.server;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.sandbox.engine.SandboxSpec;

import java.time.Instant;

/**
 * What the server knows about one sandbox: the contract's {@code Sandbox}, persisted as JSON in the
 * {@link RecordStore}. {@code status_reason} (additive, documented in {@code openapi-extensions.yaml}) says why a
 * sandbox stopped, failed or was taken back; records written before it was named so carry it as {@code message}.
 * guest_ip and host_ip are left out until sandboxes have a network (an empty string would claim one).
 */
record SandboxRecord(String id, Status status, String template, int vcpus, int memoryMb, int timeoutSec,
                     Instant createdAt, Instant startedAt, Instant lastActiveAt, Instant lastUpdated,
                     @JsonAlias("message") String statusReason) {

    /** Messages are kept short: the store sizes its entries for small records. */
    private static final int MAX_MESSAGE = 512;

    enum Status {
        PENDING, RUNNING, PAUSED, STOPPED, ERROR;

        @JsonValue
        String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        /** A VM may exist for it in the engine. */
        boolean live() {
            return this == PENDING || this == RUNNING || this == PAUSED;
        }
    }

    static SandboxRecord pending(String id, CreateRequest req, Instant now) {
        return new SandboxRecord(id, Status.PENDING, req.template(), req.vcpus(), req.memoryMb(), req.timeoutSec(),
                now, null, null, now, null);
    }

    /**
     * A record re-created from a paused snapshot's manifest after the store lost it: the spec is exact, the
     * timeout is the default and the times are the moment it was found.
     */
    static SandboxRecord fromSnapshot(SandboxSpec spec, Instant now) {
        return new SandboxRecord(spec.id(), Status.PAUSED, spec.template(), spec.vcpus(), spec.memoryMb(),
                CreateRequest.DEFAULT_TIMEOUT_SEC, now, null, null, now,
                "record re-created at start from the paused snapshot on disk");
    }

    SandboxRecord started(Instant now) {
        return new SandboxRecord(id, Status.RUNNING, template, vcpus, memoryMb, timeoutSec, createdAt, now, now, now,
                null);
    }

    SandboxRecord withStatus(Status next, Instant now, String why) {
        return new SandboxRecord(id, next, template, vcpus, memoryMb, timeoutSec, createdAt, startedAt, lastActiveAt,
                now, why != null ? shorten(why) : next == Status.RUNNING ? null : statusReason);
    }

    SandboxRecord touched(Instant now) {
        return new SandboxRecord(id, status, template, vcpus, memoryMb, timeoutSec, createdAt, startedAt, now, now,
                statusReason);
    }

    /** When it was last used: the idle timeout counts from here. */
    Instant idleSince() {
        return lastActiveAt != null ? lastActiveAt : startedAt != null ? startedAt : createdAt;
    }

    private static String shorten(String s) {
        return s.length() <= MAX_MESSAGE ? s : s.substring(0, MAX_MESSAGE - 3) + "...";
    }
}
