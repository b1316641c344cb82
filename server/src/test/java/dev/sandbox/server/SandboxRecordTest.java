package dev.sandbox.server;

import dev.sandbox.engine.NetworkSpec;
import dev.sandbox.engine.SandboxNetwork;
import dev.sandbox.server.SandboxRecord.Status;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The persisted record across versions: records from before networking load, new fields survive a round trip. */
class SandboxRecordTest {

    private final Json json = new Json();

    @Test
    void aRecordFromBeforeNetworkingLoadsWithoutAddressesOrPolicy() {
        String old = "{\"id\":\"sb-0123abcd\",\"status\":\"paused\",\"template\":\"minimal\",\"vcpus\":1,"
                + "\"memory_mb\":512,\"timeout_sec\":300,\"created_at\":\"2025-01-01T00:00:00Z\","
                + "\"started_at\":\"2025-01-01T00:00:01Z\",\"last_active_at\":null,"
                + "\"last_updated\":\"2025-01-01T00:00:02Z\",\"message\":\"why\"}";
        SandboxRecord r = json.read(old.getBytes(StandardCharsets.UTF_8), SandboxRecord.class);
        assertEquals(Status.PAUSED, r.status());
        assertEquals("why", r.statusReason());
        assertNull(r.guestIp());
        assertNull(r.hostIp());
        assertNull(r.network());
        assertNull(r.spec().network(), "taken back without a network, as it was made");
        String written = new String(json.write(r), StandardCharsets.UTF_8);
        assertFalse(written.contains("guest_ip") || written.contains("host_ip") || written.contains("network"),
                written);
    }

    @Test
    void addressesAndPolicyRoundTripAndLeaveWithTheLiveStates() {
        Instant t = Instant.parse("2025-01-01T00:00:00Z");
        NetworkSpec spec = NetworkPolicy.parse(ApiClient.JSON.createObjectNode().put("internet", false)
                .set("allow_out", ApiClient.JSON.createArrayNode().add("198.51.100.0/24")));
        SandboxRecord rec = SandboxRecord.pending("sb-1", new CreateRequest("minimal", 1, 512, 300, spec, 0), t)
                .started(t, Optional.of(new SandboxNetwork("169.254.0.21", "10.200.0.6", spec)));
        SandboxRecord back = json.read(json.write(rec), SandboxRecord.class);
        assertEquals(rec, back);
        assertEquals("10.200.0.6", back.hostIp());
        assertEquals(spec, back.spec().network());
        SandboxRecord paused = back.withStatus(Status.PAUSED, t, null).withAddresses(Optional.empty());
        assertEquals("10.200.0.6", paused.hostIp(), "an engine that tells nothing keeps the recorded address");
        SandboxRecord stopped = paused.withStatus(Status.STOPPED, t, "destroyed");
        assertNull(stopped.hostIp());
        assertNull(stopped.guestIp());
        assertTrue(stopped.network() != null && !stopped.network().internet());
    }
}
