package dev.sandbox.server;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.sandbox.engine.SandboxNetwork;
import dev.sandbox.engine.SandboxSpec;

import java.time.Instant;
import java.util.Optional;

/**
 * What the server knows about one sandbox: the contract's {@code Sandbox}, persisted as JSON in the
 * {@link RecordStore}. {@code status_reason} (additive, documented in {@code openapi-extensions.yaml}) says why a
 * sandbox stopped, failed or was taken back; records written before it was named so carry it as {@code message}.
 * guest_ip and host_ip are the engine's while the sandbox is live (kept here so a paused or recovered sandbox still
 * shows them) and left out for a sandbox without a network, or once it stopped (its host address may go to another
 * sandbox then); {@code network} is the policy it was created with (an extension; absent: no network);
 * {@code disk_mb} the root disk size the create asked for (an extension; absent: the template's own size). Records
 * written before these fields load with them absent.
 */
record SandboxRecord(String id, Status status, String template, int vcpus, int memoryMb, int timeoutSec,
                     String guestIp, String hostIp, Instant createdAt, Instant startedAt, Instant lastActiveAt,
                     Instant lastUpdated, @JsonAlias("message") String statusReason, NetworkPolicy network,
                     Integer diskMb) {

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
                null, null, now, null, null, now, null, NetworkPolicy.of(req.network()), mbOrNull(req.diskMb()));
    }

    /**
     * A record re-created from a paused snapshot's manifest after the store lost it: the spec is exact, the
     * timeout is the default and the times are the moment it was found.
     */
    static SandboxRecord fromSnapshot(SandboxSpec spec, Optional<SandboxNetwork> net, Instant now) {
        return new SandboxRecord(spec.id(), Status.PAUSED, spec.template(), spec.vcpus(), spec.memoryMb(),
                CreateRequest.DEFAULT_TIMEOUT_SEC, null, null, now, null, null, now,
                "record re-created at start from the paused snapshot on disk", NetworkPolicy.of(spec.network()),
                mbOrNull(spec.diskMb())).withAddresses(net);
    }

    /** Running, at the addresses the engine gave it (none: it has no network). */
    SandboxRecord started(Instant now, Optional<SandboxNetwork> net) {
        return new SandboxRecord(id, Status.RUNNING, template, vcpus, memoryMb, timeoutSec, null, null, createdAt,
                now, now, now, null, network, diskMb).withAddresses(net);
    }

    /**
     * The engine's addresses for it, when it tells them; an engine that does not (yet) keeps the recorded ones.
     * The policy stays the one of the create: the engine's copy comes from the same request.
     */
    SandboxRecord withAddresses(Optional<SandboxNetwork> net) {
        return net.map(n -> new SandboxRecord(id, status, template, vcpus, memoryMb, timeoutSec, n.guestIp(),
                n.hostIp(), createdAt, startedAt, lastActiveAt, lastUpdated, statusReason,
                network != null ? network : NetworkPolicy.of(n.spec()), diskMb)).orElse(this);
    }

    /** Leaving the live states drops the addresses: the host's may go to another sandbox from then on. */
    SandboxRecord withStatus(Status next, Instant now, String why) {
        boolean live = next.live();
        return new SandboxRecord(id, next, template, vcpus, memoryMb, timeoutSec, live ? guestIp : null,
                live ? hostIp : null, createdAt, startedAt, lastActiveAt, now,
                why != null ? shorten(why) : next == Status.RUNNING ? null : statusReason, network, diskMb);
    }

    SandboxRecord touched(Instant now) {
        return new SandboxRecord(id, status, template, vcpus, memoryMb, timeoutSec, guestIp, hostIp, createdAt,
                startedAt, now, now, statusReason, network, diskMb);
    }

    /** The spec to take it back with when its snapshot has no manifest. */
    SandboxSpec spec() {
        return new SandboxSpec(id, template, vcpus, memoryMb, network == null ? null : network.spec(),
                diskMb == null ? 0 : diskMb);
    }

    /** 0 (the template's own size) is left out of the record and the body. */
    private static Integer mbOrNull(int mb) {
        return mb == 0 ? null : mb;
    }

    /** When it was last used: the idle timeout counts from here. */
    Instant idleSince() {
        return lastActiveAt != null ? lastActiveAt : startedAt != null ? startedAt : createdAt;
    }

    private static String shorten(String s) {
        return s.length() <= MAX_MESSAGE ? s : s.substring(0, MAX_MESSAGE - 3) + "...";
    }
}
