package dev.sandbox.engine.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sandbox.engine.agent.AgentException.Kind;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Directory calls (protocol 2) of AgentClient against the real sandbox-agent binary in Unix-socket mode. */
class AgentDirsTest extends RealAgentTest {

    private static String p(String rel) {
        return dir.resolve(rel).toString();
    }

    private static Map<String, DirEntry> byName(DirListing l) {
        return l.entries().stream().collect(Collectors.toMap(DirEntry::name, Function.identity()));
    }

    @Test
    void negotiatesTheHighestVersion() {
        assertEquals(4, client.protocolVersion());
        assertEquals("sandbox-agent 0.4.0", client.agentVersion());
    }

    @Test
    void mkdirWriteListRemove() throws IOException {
        Instant before = Instant.now().minusSeconds(5);
        assertTrue(client.mkdir(p("w/a/b"), 0750));
        assertFalse(client.mkdir(p("w/a/b"), 0750), "already there: not created again");
        client.writeFile(p("w/a/one.txt"), new byte[3], 0640);
        client.writeFile(p("w/a/b/two.bin"), new byte[70_000], 0600);
        Files.createSymbolicLink(dir.resolve("w/a/link"), Path.of("/"));

        DirListing l = client.list(p("w/a"));
        assertFalse(l.truncated());
        Map<String, DirEntry> m = byName(l);
        assertEquals(Set.of("one.txt", "b", "link"), m.keySet());
        assertEquals(new DirEntry("one.txt", DirEntry.Type.FILE, 0640, 3, m.get("one.txt").modified()),
                m.get("one.txt"));
        assertTrue(m.get("one.txt").modified().isAfter(before));
        assertEquals(DirEntry.Type.DIRECTORY, m.get("b").type());
        assertEquals(0750, m.get("b").mode());
        assertEquals(DirEntry.Type.SYMLINK, m.get("link").type(), "a symlink is listed, not followed");
        assertEquals(1, m.get("link").size());
        assertEquals(70_000, byName(client.list(p("w/a/b"))).get("two.bin").size());

        AgentException e = assertThrows(AgentException.class, () -> client.remove(p("w/a"), false));
        assertEquals(Kind.NOT_EMPTY, e.kind());
        assertTrue(Files.exists(dir.resolve("w/a/b/two.bin")));
        assertEquals(5, client.remove(p("w/a"), true)); // a, b, two.bin, one.txt, link
        assertFalse(Files.exists(dir.resolve("w/a")));
        assertTrue(Files.isDirectory(Path.of("/")), "the link's target is untouched");
        assertEquals(Kind.NOT_FOUND, assertThrows(AgentException.class, () -> client.remove(p("w/a"), true)).kind());
    }

    @Test
    void recursiveRemoveDoesNotFollowSymlinksOut() throws IOException {
        Files.createDirectories(dir.resolve("outside"));
        Files.writeString(dir.resolve("outside/keep"), "keep");
        client.mkdir(p("tree/sub"), 0755);
        Files.createSymbolicLink(dir.resolve("tree/sub/out"), dir.resolve("outside"));
        Files.createSymbolicLink(dir.resolve("tree/keep-link"), dir.resolve("outside/keep"));
        assertEquals(4, client.remove(p("tree"), true)); // tree, sub, out, keep-link
        assertEquals("keep", Files.readString(dir.resolve("outside/keep")));
    }

    @Test
    void listingIsBoundedAndFlagged() throws IOException {
        client.mkdir(p("big"), 0755);
        for (int i = 0; i < 700; i++) {
            Files.writeString(dir.resolve("big/" + "%04d-".formatted(i) + "n".repeat(200)), "");
        }
        DirListing all = client.list(p("big"));
        assertEquals(700, all.entries().size());
        assertFalse(all.truncated());
        Set<String> names = new HashSet<>();
        all.entries().forEach(x -> assertTrue(names.add(x.name()), "duplicate " + x.name()));
        DirListing some = client.list(p("big"), 100);
        assertEquals(100, some.entries().size());
        assertTrue(some.truncated());
    }

    @Test
    void errorsAreTyped() throws IOException {
        Files.writeString(dir.resolve("plain"), "x");
        assertEquals(Kind.NOT_FOUND, assertThrows(AgentException.class, () -> client.list(p("missing"))).kind());
        assertEquals(Kind.NOT_DIRECTORY, assertThrows(AgentException.class, () -> client.list(p("plain"))).kind());
        assertEquals(Kind.INVALID, assertThrows(AgentException.class, () -> client.list("relative")).kind());
        assertEquals(Kind.EXISTS, assertThrows(AgentException.class, () -> client.mkdir(p("plain"), 0755)).kind());
        assertEquals(Kind.EXISTS, assertThrows(AgentException.class,
                () -> client.mkdir(p("plain/below"), 0755)).kind());
        AgentException root = assertThrows(AgentException.class, () -> client.remove("/", true));
        assertEquals(Kind.INVALID, root.kind());
        assertTrue(root.getMessage().contains("refusing"), root.getMessage());
        assertEquals(Kind.INVALID, assertThrows(AgentException.class, () -> client.remove(p("x/.."), true)).kind());
        assertEquals(0, client.exec("true").exitCode(), "the connection is fine afterwards");
    }

    /** A host that offers only version 1 (as before directories existed) gets UNSUPPORTED, before sending. */
    @Test
    void versionOneConnectionHasNoDirectoryCalls() throws IOException {
        try (AgentClient old = clientUpTo(1)) {
            assertEquals(1, old.protocolVersion());
            AgentException e = assertThrows(AgentException.class, () -> old.list(p("")));
            assertEquals(Kind.UNSUPPORTED, e.kind());
            assertTrue(e.getMessage().contains("version 1"), e.getMessage());
            assertEquals(0, old.exec("true").exitCode());
        }
    }

    /** The agent itself answers a directory request on a version 1 connection as an old agent would. */
    @Test
    void agentRefusesDirectoryRequestsOnVersionOne() throws IOException {
        try (SocketChannel raw = rawConnection()) {
            raw.write(AgentCodec.encode(0, new AgentMessage.Hello(AgentCodec.MAGIC, 1, 1)));
            AgentMessage.HelloOk ok = (AgentMessage.HelloOk) AgentCodec.read(raw).message();
            assertEquals(1, ok.version());
            raw.write(AgentCodec.encode(5, new AgentMessage.ListDir(p(""), 10)));
            AgentCodec.Frame f = AgentCodec.read(raw);
            assertEquals(5, f.id());
            AgentException e = ((AgentMessage.Failure) f.message()).toException();
            assertEquals(Kind.UNSUPPORTED, e.kind());
            assertTrue(e.getMessage().contains("needs 2"), e.getMessage());
            raw.write(AgentCodec.encode(6, new AgentMessage.Ping(new byte[] {1})));
            assertEquals(6, AgentCodec.read(raw).id(), "the connection goes on");
        }
    }
}
