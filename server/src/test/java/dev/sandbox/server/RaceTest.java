package dev.sandbox.server;

import dev.sandbox.server.ApiClient.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Section 2 of issue 13: calls that meet a pause, resume or destroy answer 409 with the error body (or succeed),
 * never 502. The fake engine holds a call in flight at a latch, and fails it the way the real agent does (CLOSED)
 * when the sandbox was paused or closed under it.
 */
class RaceTest {

    private static final Duration GRACE = Duration.ofMillis(300);

    private FakeEngine engine;
    private SandboxServer server;
    private ApiClient api;
    private final CountDownLatch entered = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);

    @BeforeEach
    void start(@TempDir Path dir) {
        engine = new FakeEngine(dir.resolve("vms"));
        server = TestServers.start(TestServers.config(dir.resolve("state")).withDrainGrace(GRACE, 2), engine);
        api = new ApiClient(server.port(), SandboxApiTest.CONTRACT);
    }

    @AfterEach
    void stop() {
        release.countDown();
        server.close();
    }

    /** Holds calls named {@code call} at the latch until {@link #release}. */
    private void hold(String call) {
        engine.hook((id, c) -> {
            if (c.equals(call)) {
                entered.countDown();
                assertTrue(release.await(20, TimeUnit.SECONDS));
            }
        });
    }

    private static CompletableFuture<Response> async(Supplier<Response> call) {
        return CompletableFuture.supplyAsync(call, r -> Thread.ofVirtual().start(r));
    }

    private String running() {
        return api.create("{}").json().get("id").asText();
    }

    private static void conflict(Response r) {
        assertEquals(409, r.status(), r.text());
        assertEquals("invalid_state", r.errorCode(), r.text());
    }

    @Test
    void anExecThatAPauseCutsOffGets409(@TempDir Path unused) throws Exception {
        String id = running();
        hold("exec");
        CompletableFuture<Response> exec = async(() -> api.exec(id, "{\"cmd\":\"true\"}"));
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        // the pause waits out the grace, then drops the call's connection while it still says running
        CountDownLatch pausing = new CountDownLatch(1);
        engine.hook((sid, c) -> {
            if (c.equals("pause")) {
                pausing.countDown();
                assertTrue(release.await(20, TimeUnit.SECONDS));
            } else if (c.equals("exec")) {
                assertTrue(release.await(20, TimeUnit.SECONDS));
            }
        });
        CompletableFuture<Response> pause = async(() -> api.post(SandboxApiTest.PAUSE, id, null));
        assertTrue(pausing.await(10, TimeUnit.SECONDS));
        release.countDown();
        conflict(exec.get(20, TimeUnit.SECONDS));
        assertEquals(200, pause.get(20, TimeUnit.SECONDS).status());
    }

    @Test
    void callsArrivingWhileItPausesGet409(@TempDir Path unused) throws Exception {
        String id = running();
        hold("pause");
        CompletableFuture<Response> pause = async(() -> api.post(SandboxApiTest.PAUSE, id, null));
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        conflict(api.exec(id, "{\"cmd\":\"true\"}"));
        conflict(api.upload(id, "/f.txt", "x".getBytes()));
        Response read = api.download(id, "/f.txt");
        assertEquals(409, read.status(), read.text());
        release.countDown();
        assertEquals(200, pause.get(20, TimeUnit.SECONDS).status());
    }

    @Test
    void twoPausesAtOnceGiveOne200AndOne409(@TempDir Path unused) throws Exception {
        String id = running();
        hold("pause");
        CompletableFuture<Response> first = async(() -> api.post(SandboxApiTest.PAUSE, id, null));
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        CompletableFuture<Response> second = async(() -> api.post(SandboxApiTest.PAUSE, id, null));
        Thread.sleep(100);
        release.countDown();
        List<Integer> statuses = List.of(first.get(20, TimeUnit.SECONDS).status(),
                second.get(20, TimeUnit.SECONDS).status());
        assertEquals(List.of(200, 409), statuses.stream().sorted().toList(), statuses.toString());
    }

    @Test
    void transfersThatADestroyCutsOffGet409(@TempDir Path unused) throws Exception {
        String id = running();
        assertEquals(204, api.upload(id, "/f.txt", "data".getBytes()).status());
        hold("read");
        CompletableFuture<Response> read = async(() -> api.download(id, "/f.txt"));
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        CompletableFuture<Response> destroy = async(() -> api.delete(SandboxApiTest.SANDBOX, id));
        assertEquals(204, destroy.get(20, TimeUnit.SECONDS).status(), "the destroy waits out the grace only");
        release.countDown();
        Response r = read.get(20, TimeUnit.SECONDS);
        assertEquals(409, r.status(), r.text());
        assertEquals("invalid_state", r.errorCode());
    }

    @Test
    void anUploadThatAPauseCutsOffGets409(@TempDir Path unused) throws Exception {
        String id = running();
        hold("write");
        CompletableFuture<Response> up = async(() -> api.upload(id, "/f.txt", new byte[200_000]));
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        CompletableFuture<Response> pause = async(() -> api.post(SandboxApiTest.PAUSE, id, null));
        assertEquals(200, pause.get(20, TimeUnit.SECONDS).status());
        release.countDown();
        conflict(up.get(20, TimeUnit.SECONDS));
    }

    @Test
    void execsPastTheLimitGet429(@TempDir Path unused) throws Exception {
        String id = running();
        CountDownLatch both = new CountDownLatch(2);
        engine.hook((sid, c) -> {
            both.countDown();
            assertTrue(release.await(20, TimeUnit.SECONDS));
        });
        CompletableFuture<Response> a = async(() -> api.exec(id, "{\"cmd\":\"true\"}"));
        CompletableFuture<Response> b = async(() -> api.exec(id, "{\"cmd\":\"true\"}"));
        assertTrue(both.await(10, TimeUnit.SECONDS));
        Response third = api.exec(id, "{\"cmd\":\"true\"}");
        assertEquals(429, third.status(), third.text());
        assertEquals("too_many_requests", third.errorCode());
        release.countDown();
        assertEquals(200, a.get(20, TimeUnit.SECONDS).status());
        assertEquals(200, b.get(20, TimeUnit.SECONDS).status());
    }

    @Test
    void aCallThatTheGuestCrashUnderGetsTheReasonNot502(@TempDir Path unused) throws Exception {
        String id = running();
        hold("exec");
        CompletableFuture<Response> exec = async(() -> api.exec(id, "{\"cmd\":\"true\"}"));
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        engine.crash(id);
        release.countDown();
        Response r = exec.get(20, TimeUnit.SECONDS);
        conflict(r);
        assertTrue(r.json().get("error").get("message").asText().contains("triple fault"), r.text());
    }

    /** A download stuck on a slow client or guest holds up nothing else in the same sandbox. */
    @Test
    void aSlowDownloadStallsNoOtherCall(@TempDir Path unused) throws Exception {
        String id = running();
        assertEquals(204, api.upload(id, "/f.txt", "data".getBytes()).status());
        hold("read");
        CompletableFuture<Response> read = async(() -> api.download(id, "/f.txt"));
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        assertEquals(200, api.exec(id, "{\"cmd\":\"true\"}").status());
        assertEquals(204, api.upload(id, "/g.txt", "more".getBytes()).status());
        assertEquals("running", api.get(SandboxApiTest.SANDBOX, id).json().get("status").asText());
        release.countDown();
        assertEquals("data", read.get(20, TimeUnit.SECONDS).text());
    }
}
