package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.engine.Cidr;
import dev.sandbox.engine.NetworkSpec;
import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static dev.sandbox.server.ApiClient.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 14's API side of networking with {@link FakeEngine} (whose sandboxes with a network sit at 127.0.0.1): the
 * create request's network (default, policy, null, malformed), guest_ip, host_ip and the echoed policy in every
 * Sandbox body, through pause, resume, destroy and restarts, and a server with networking off.
 */
class NetworkApiTest extends FakeServerTest {

    private static final String GUEST_IP = "169.254.0.21";

    private static JsonNode created(ApiClient api, String json) {
        Response r = api.create(json);
        assertEquals(201, r.status(), r.text());
        return r.json();
    }

    @Test
    void aCreateWithoutNetworkGetsTheInternetAndShowsItsAddresses() {
        JsonNode sb = created(api, "{}");
        String id = sb.get("id").asText();
        assertEquals(GUEST_IP, sb.path("guest_ip").asText(), sb.toString());
        assertEquals("127.0.0.1", sb.path("host_ip").asText(), sb.toString());
        assertEquals("{\"internet\":true,\"allow_out\":[],\"deny_out\":[]}", sb.get("network").toString());
        assertEquals(NetworkSpec.DEFAULT, engine.find(id).orElseThrow().spec().network(), "the engine got it");
        assertEquals(sb, api.get(SandboxApiTest.SANDBOX, id).json());
        JsonNode listed = null;
        for (JsonNode s : api.get(SandboxApiTest.SANDBOXES, null).json()) {
            if (s.get("id").asText().equals(id)) {
                listed = s;
            }
        }
        assertEquals(sb, listed);
    }

    @Test
    void aPolicyReachesTheEngineAndComesBackInCanonicalForm() {
        JsonNode sb = created(api, "{\"network\":{\"internet\":false,\"allow_out\":[\"198.51.100.0/24\","
                + "\"203.0.113.7\"],\"deny_out\":[\"0.0.0.0/0\"]}}");
        assertFalse(sb.get("network").get("internet").asBoolean());
        assertEquals("[\"198.51.100.0/24\",\"203.0.113.7/32\"]", sb.get("network").get("allow_out").toString());
        assertEquals("[\"0.0.0.0/0\"]", sb.get("network").get("deny_out").toString());
        NetworkSpec got = engine.find(sb.get("id").asText()).orElseThrow().spec().network();
        assertEquals(new NetworkSpec(false, List.of(Cidr.parse("198.51.100.0/24"), Cidr.parse("203.0.113.7/32")),
                List.of(Cidr.parse("0.0.0.0/0"))), got);
        // a partial object takes the defaults for the rest
        JsonNode partial = created(api, "{\"network\":{\"deny_out\":[\"198.51.100.0/25\"]}}");
        assertTrue(partial.get("network").get("internet").asBoolean(), partial.toString());
        assertEquals(0, partial.get("network").get("allow_out").size());
    }

    @Test
    void nullMeansNoNetworkAtAll() {
        JsonNode sb = created(api, "{\"network\":null}");
        assertFalse(sb.has("guest_ip") || sb.has("host_ip") || sb.has("network"), sb.toString());
        assertNull(engine.find(sb.get("id").asText()).orElseThrow().spec().network(), "the NIC stays unplugged");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "1                                        | network must be an object",
        "[]                                       | network must be an object",
        "\"on\"                                   | network must be an object",
        "{\"internet\":\"yes\"}                   | network.internet must be true or false",
        "{\"internet\":null}                      | network.internet must be true or false",
        "{\"allow_out\":\"198.51.100.0/24\"}      | network.allow_out must be an array",
        "{\"deny_out\":null}                      | network.deny_out must be an array",
        "{\"deny_out\":[\"198.51.100.0/24\",1]}   | network.deny_out[1] must be a string",
        "{\"allow_out\":[\"198.51.100.0/33\"]}    | network.allow_out[0]: prefix must be 0..32",
        "{\"allow_out\":[\"10.0.0.1/8\"]}         | network.allow_out[0]: host bits set",
        "{\"allow_out\":[\"2001:db8::/32\"]}      | network.allow_out[0]: not an IPv4 CIDR",
        "{\"allow_out\":[\"\"]}                   | network.allow_out[0]: not an IPv4 CIDR",
        "{\"internet\":true,\"egress\":[]}        | network.egress is not a known field",
    })
    void aMalformedNetworkIs400NamingTheField(String network, String message) {
        int before = api.get(SandboxApiTest.SANDBOXES, null).json().size();
        Response r = api.create("{\"network\":" + network + "}");
        assertError(400, "bad_request", r);
        assertTrue(r.json().get("error").get("message").asText().contains(message), r.text());
        assertEquals(before, api.get(SandboxApiTest.SANDBOXES, null).json().size(), "nothing was created");
    }

    @Test
    void moreThan64NetworksIs400() {
        String many = IntStream.range(0, NetworkSpec.MAX_RULES + 1).mapToObj(i -> "\"198.51.100." + i + "\"")
                .collect(Collectors.joining(",", "[", "]"));
        Response r = api.create("{\"network\":{\"deny_out\":" + many + "}}");
        assertError(400, "bad_request", r);
        assertTrue(r.text().contains("network.deny_out has 65 networks, at most 64"), r.text());
        String most = IntStream.range(0, NetworkSpec.MAX_RULES).mapToObj(i -> "\"198.51.100." + i + "\"")
                .collect(Collectors.joining(",", "[", "]"));
        JsonNode sb = created(api, "{\"network\":{\"allow_out\":" + most + ",\"deny_out\":" + most + "}}");
        assertEquals(64, api.get(SandboxApiTest.SANDBOX, sb.get("id").asText()).json().get("network")
                .get("deny_out").size(), "the largest policy fits the record store");
    }

    @Test
    void pausedSandboxesShowTheirAddressesStoppedOnesNot() {
        String id = create();
        JsonNode paused = api.post(SandboxApiTest.PAUSE, id, null).json();
        assertEquals("paused", paused.get("status").asText());
        assertEquals("127.0.0.1", paused.path("host_ip").asText(), paused.toString());
        assertEquals(GUEST_IP, api.get(SandboxApiTest.SANDBOX, id).json().path("guest_ip").asText());
        JsonNode resumed = api.post(SandboxApiTest.RESUME, id, null).json();
        assertEquals("127.0.0.1", resumed.path("host_ip").asText(), resumed.toString());
        assertEquals(204, api.delete(SandboxApiTest.SANDBOX, id).status());
        JsonNode stopped = api.get(SandboxApiTest.SANDBOX, id).json();
        assertEquals("stopped", stopped.get("status").asText());
        assertFalse(stopped.has("guest_ip") || stopped.has("host_ip"), "the address may go to another sandbox: "
                + stopped);
        assertTrue(stopped.get("network").get("internet").asBoolean(), "the policy it had stays: " + stopped);
    }

    @Test
    void withNetworkingOffSandboxesHaveNoneAndAskingForOneIs501(@TempDir Path dir) {
        try (SandboxServer off = TestServers.start(TestServers.config(dir.resolve("state")).withNetwork(false),
                new FakeEngine(dir.resolve("vms")))) {
            ApiClient client = new ApiClient(off.port(), CONTRACT);
            JsonNode plain = created(client, "{}");
            assertFalse(plain.has("host_ip") || plain.has("guest_ip") || plain.has("network"), plain.toString());
            assertFalse(created(client, "{\"network\":null}").has("network"));
            Response asked = client.create("{\"network\":{\"internet\":false}}");
            assertError(501, "not_implemented", asked);
            assertTrue(asked.text().contains("--network off"), asked.text());
            assertError(400, "bad_request", client.create("{\"network\":{\"internet\":1}}"));
            assertEquals(2, client.get(SandboxApiTest.SANDBOXES, null).json().size(), "refused ones left nothing");
        }
    }

    @Test
    void theNetworkOptionTakesOnAndOff() {
        assertTrue(ServerConfig.from(new String[0], java.util.Map.of()).network(), "on by default");
        assertFalse(ServerConfig.from(new String[]{"--network", "off"}, java.util.Map.of()).network());
        assertFalse(ServerConfig.from(new String[0], java.util.Map.of("SANDBOX_NETWORK", "off")).network());
        assertTrue(ServerConfig.from(new String[]{"--network", "on"}, java.util.Map.of("SANDBOX_NETWORK", "off"))
                .network(), "the flag wins");
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ServerConfig.from(new String[]{"--network", "maybe"}, java.util.Map.of())).getMessage()
                .contains("--network must be on or off"));
    }

    @Test
    void pausedSandboxesKeepTheirAddressesAndPolicyThroughARestart(@TempDir Path dir) {
        String paused;
        String running;
        try (SandboxServer a = TestServers.start(TestServers.config(dir.resolve("state")),
                new FakeEngine(dir.resolve("vms")))) {
            ApiClient client = new ApiClient(a.port(), CONTRACT);
            paused = created(client, "{\"network\":{\"allow_out\":[\"10.1.0.0/16\"]}}").get("id").asText();
            running = created(client, "{}").get("id").asText();
            assertEquals(200, client.post(SandboxApiTest.PAUSE, paused, null).status());
        }
        try (SandboxServer b = TestServers.start(TestServers.config(dir.resolve("state")),
                new FakeEngine(dir.resolve("vms")))) {
            ApiClient client = new ApiClient(b.port(), CONTRACT);
            JsonNode p = client.get(SandboxApiTest.SANDBOX, paused).json();
            assertEquals("paused", p.get("status").asText(), p.toString());
            assertEquals("127.0.0.1", p.path("host_ip").asText(), p.toString());
            assertEquals(GUEST_IP, p.path("guest_ip").asText());
            assertEquals("[\"10.1.0.0/16\"]", p.get("network").get("allow_out").toString());
            JsonNode r = client.get(SandboxApiTest.SANDBOX, running).json();
            assertEquals("stopped", r.get("status").asText());
            assertFalse(r.has("host_ip"), "its VM ended with the old process: " + r);
        }
        // a later engine that gives the sandbox another host address: the record follows the engine
        FakeEngine moved = new FakeEngine(dir.resolve("vms"));
        moved.hostIp = "127.0.0.3";
        try (SandboxServer c = TestServers.start(TestServers.config(dir.resolve("state")), moved)) {
            ApiClient client = new ApiClient(c.port(), CONTRACT);
            assertEquals("127.0.0.3", client.get(SandboxApiTest.SANDBOX, paused).json().path("host_ip").asText());
            JsonNode resumed = client.post(SandboxApiTest.RESUME, paused, null).json();
            assertEquals("running", resumed.get("status").asText());
            assertEquals("127.0.0.3", resumed.path("host_ip").asText(), resumed.toString());
            assertEquals(new NetworkSpec(true, List.of(Cidr.parse("10.1.0.0/16")), List.of()),
                    moved.find(paused).orElseThrow().spec().network(), "the engine has the policy back");
        }
    }

    @Test
    void aLostRecordComesBackWithItsNetworkFromTheManifest(@TempDir Path dir) throws IOException {
        String id;
        try (SandboxServer a = TestServers.start(TestServers.config(dir.resolve("state")),
                new FakeEngine(dir.resolve("vms")))) {
            ApiClient client = new ApiClient(a.port(), CONTRACT);
            id = created(client, "{\"network\":{\"internet\":false,\"allow_out\":[\"198.51.100.0/24\"]}}")
                    .get("id").asText();
            assertEquals(200, client.post(SandboxApiTest.PAUSE, id, null).status());
        }
        CrashRecoveryTest.deleteTree(dir.resolve("state"));  // the store lost everything
        try (SandboxServer b = TestServers.start(TestServers.config(dir.resolve("state")),
                new FakeEngine(dir.resolve("vms")))) {
            JsonNode rec = new ApiClient(b.port(), CONTRACT).get(SandboxApiTest.SANDBOX, id).json();
            assertEquals("paused", rec.get("status").asText(), rec.toString());
            assertEquals("127.0.0.1", rec.path("host_ip").asText(), rec.toString());
            assertFalse(rec.get("network").get("internet").asBoolean(), rec.toString());
            assertEquals("[\"198.51.100.0/24\"]", rec.get("network").get("allow_out").toString());
        }
    }
}
