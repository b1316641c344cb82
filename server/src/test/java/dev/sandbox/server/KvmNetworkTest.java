package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.sandbox.server.ApiClient.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sandbox networks end to end: real microVMs on KVM, our virtio-net over a TAP in a namespace per sandbox, the
 * egress policy in nftables, the ports proxy, all through the REST API. The "internet" is a namespace of the test's
 * own with a documentation address ({@link StandInInternet}); nothing leaves this machine. Needs /dev/kvm, root
 * (namespaces, nftables) and {@code -Dsandbox.guest.dir}.
 */
@Tag("kvm")
class KvmNetworkTest {
    /** How long a guest waits for a connection the policy drops (the SYN goes unanswered). */
    private static final int PROBE_TIMEOUT_S = 3;

    private static Path dir;
    private static RealServer real;
    private static ApiClient api;
    private static StandInInternet internet;

    @BeforeAll
    static void start() throws IOException {
        dir = Files.createTempDirectory("kvm-network-test");
        internet = StandInInternet.start(dir);
        real = RealServer.start(dir);
        api = real.api();
    }

    @AfterAll
    static void stop() {
        try {
            if (real != null) {
                real.close();
            }
        } finally {
            if (internet != null) {
                internet.close();
            }
        }
    }

    private static String create(String json) {
        Response r = api.create(json);
        assertEquals(201, r.status(), r.text());
        return r.json().get("id").asText();
    }

    private static JsonNode show(String id) {
        Response r = api.get("/v1/sandboxes/{id}", id);
        assertEquals(200, r.status(), r.text());
        return r.json();
    }

    /** Runs a shell script in the guest; returns "exit_code\nstdout" (stderr left out: busybox chats there). */
    private static String sh(String id, String script) {
        Response r = api.exec(id, "{\"cmd\":\"/bin/sh\",\"args\":[\"-c\"," + ApiClient.quote(script) + "]}");
        assertEquals(200, r.status(), r.text());
        return r.json().get("exit_code").asInt() + "\n" + r.json().get("stdout").asText();
    }

    private static String fetch(String id, String url) {
        // busybox 1.35's wget -T crashes (exit 139): timeout bounds it instead
        return sh(id, "timeout " + PROBE_TIMEOUT_S + " wget -q -O - " + url);
    }

    private static final String INTERNET_URL = "http://" + StandInInternet.SERVER + "/" + StandInInternet.FILE;

    private void assertReaches(String id, String why) {
        assertEquals("0\n" + internet.body, fetch(id, INTERNET_URL), why);
    }

    private void assertBlocked(String id, String why) {
        String out = fetch(id, INTERNET_URL);
        assertTrue(!out.startsWith("0\n") && !out.contains(internet.body), why + ": " + out);
    }

    private static void destroy(String id) {
        assertEquals(204, api.delete("/v1/sandboxes/{id}", id).status());
    }

    @Test
    void reachesTheInternetWithItsOwnHostAddress() {
        String a = create("{\"memory_mb\":256}");
        String b = create("{\"memory_mb\":256}");
        try {
            JsonNode sa = show(a);
            JsonNode sb = show(b);
            assertEquals("169.254.0.21", sa.get("guest_ip").asText(), sa.toString());
            assertEquals(sa.get("guest_ip").asText(), sb.get("guest_ip").asText(), "every clone keeps the address");
            assertTrue(sa.get("host_ip").asText().matches("\\d+\\.\\d+\\.\\d+\\.\\d+"), sa.toString());
            assertNotEquals(sa.get("host_ip").asText(), sb.get("host_ip").asText(), "host_ip is per sandbox");
            assertReaches(a, "internet is on by default");
            assertReaches(b, "a second clone at the same guest address");
        } finally {
            destroy(a);
            destroy(b);
        }
    }

    @Test
    void egressPolicy() {
        String off = create("{\"memory_mb\":256,\"network\":{\"internet\":false}}");
        String opened = create("{\"memory_mb\":256,\"network\":{\"internet\":false,\"allow_out\":[\"198.51.100.0/24\"]}}");
        String denied = create("{\"memory_mb\":256,\"network\":{\"deny_out\":[\"198.51.100.10/32\"]}}");
        try {
            assertBlocked(off, "internet: false");
            assertReaches(opened, "internet: false, but allow_out lists it");
            assertBlocked(denied, "deny_out");
        } finally {
            destroy(off);
            destroy(opened);
            destroy(denied);
        }
        assertError(400, "bad_request", api.create("{\"network\":{\"allow_out\":[\"10.0.0.1/8\"]}}"));
        assertError(400, "bad_request", api.create("{\"network\":{\"internet\":\"yes\"}}"));
        assertError(400, "bad_request", api.create("{\"network\":{\"deny_out\":[\"::1/128\"]}}"));
    }

    /** Every IPv4 address of this host but loopback (the guest's own loopback answers there). */
    private static List<String> hostAddresses() throws IOException {
        List<String> found = new ArrayList<>();
        for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            for (InetAddress a : Collections.list(nic.getInetAddresses())) {
                if (a instanceof Inet4Address && !a.isLoopbackAddress()) {
                    found.add(a.getHostAddress());
                }
            }
        }
        return found;
    }

    @Test
    void sandboxesReachNeitherEachOtherNorTheHost() throws Exception {
        String a = create("{\"memory_mb\":256}");
        String b = create("{\"memory_mb\":256}");
        // A stand-in for the API on every host address: what a guest must not reach, whatever address it tries.
        AtomicInteger accepted = new AtomicInteger();
        try (ServerSocket api0 = new ServerSocket()) {
            api0.bind(new InetSocketAddress("0.0.0.0", 0));
            int port = api0.getLocalPort();
            Thread.ofPlatform().daemon(true).start(() -> {
                while (!api0.isClosed()) {
                    try (Socket s = api0.accept()) {
                        accepted.incrementAndGet();
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            List<String> addresses = hostAddresses();
            assertTrue(addresses.contains(show(a).get("host_ip").asText()) || !addresses.isEmpty());
            for (String addr : addresses) {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(addr, port), 2000); // control: it listens there
                }
            }
            int seen = accepted.get();
            StringBuilder probes = new StringBuilder();
            for (String addr : addresses) {
                probes.append("if nc -w ").append(PROBE_TIMEOUT_S).append(' ').append(addr).append(' ').append(port)
                        .append(" </dev/null 2>/dev/null; then echo ").append(addr).append(" open; fi; ");
            }
            probes.append("true");
            String out = sh(a, probes.toString());
            assertEquals("0\n", out, "host addresses " + addresses + " reachable from the guest");
            assertEquals(seen, accepted.get(), "the guest's connections reached the host");

            // B serves HTTP: the host reaches it through the proxy, A does not reach it at B's host address.
            assertEquals("0\n", sh(b, "mkdir -p /tmp/www && echo from-b > /tmp/www/b.txt"
                    + " && busybox httpd -p 8080 -h /tmp/www"));
            Response viaProxy = api.raw("GET", "/v1/sandboxes/" + b + "/ports/8080/b.txt", null,
                    HttpRequest.BodyPublishers.noBody());
            assertEquals(200, viaProxy.status(), viaProxy.text());
            assertEquals("from-b\n", viaProxy.text());
            String bHost = show(b).get("host_ip").asText();
            String cross = fetch(a, "http://" + bHost + ":8080/b.txt");
            assertTrue(!cross.startsWith("0\n") && !cross.contains("from-b"), "A reached B: " + cross);
        } finally {
            destroy(a);
            destroy(b);
        }
    }

    @Test
    void portsProxyAndPauseResume() {
        String id = create("{\"memory_mb\":256}");
        try {
            assertEquals("0\n", sh(id, "mkdir -p /tmp/www && echo hello-port > /tmp/www/index.html"
                    + " && busybox httpd -p 8000 -h /tmp/www"));
            Response ok = api.raw("GET", "/v1/sandboxes/" + id + "/ports/8000/index.html?x=1", null,
                    HttpRequest.BodyPublishers.noBody());
            assertEquals(200, ok.status(), ok.text());
            assertEquals("hello-port\n", ok.text());
            Response refused = api.raw("GET", "/v1/sandboxes/" + id + "/ports/8001/", null,
                    HttpRequest.BodyPublishers.noBody());
            assertEquals(502, refused.status(), refused.text());
            assertTrue(refused.errorCode() != null, "the error body: " + refused.text());

            assertEquals("paused", api.post(SandboxApiTest.PAUSE, id, null).json().get("status").asText());
            assertError(409, "invalid_state", api.raw("GET", "/v1/sandboxes/" + id + "/ports/8000/index.html", null,
                    HttpRequest.BodyPublishers.noBody()));
            String hostIp = show(id).get("host_ip").asText();
            assertEquals(200, api.post(SandboxApiTest.RESUME, id, null).status());
            assertEquals(hostIp, show(id).get("host_ip").asText(), "host_ip is kept through pause/resume");
            Response again = api.raw("GET", "/v1/sandboxes/" + id + "/ports/8000/index.html", null,
                    HttpRequest.BodyPublishers.noBody());
            assertEquals(200, again.status(), again.text());
            assertEquals("hello-port\n", again.text(), "the guest's server answers after resume");
            assertReaches(id, "the internet after resume");
        } finally {
            destroy(id);
        }
    }

    @Test
    void createAndDestroyLeaveNothingBehind() throws IOException {
        for (int i = 0; i < 20; i++) {
            destroy(create("{\"memory_mb\":256}"));
        }
        assertEquals(List.of(), StandInInternet.linesWith("sbx-", "ip", "netns", "list"), "namespaces left");
        assertEquals(List.of(), StandInInternet.linesWith("sbx", "ip", "-o", "link", "show"), "links left");
        assertEquals(List.of(), StandInInternet.linesWith("sbx_", "nft", "list", "tables"), "nft tables left");
    }
}
