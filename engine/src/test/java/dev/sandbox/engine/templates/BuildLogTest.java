package dev.sandbox.engine.templates;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BuildLogTest {

    @TempDir
    Path dir;

    @Test
    void linesGoToTheFileAtOnceAndTheTailKeepsTheLast30() throws IOException {
        Path file = dir.resolve("build.log");
        try (BuildLog log = BuildLog.open(file)) {
            log.line("one\ntwo\r");
            assertEquals("one\ntwo\n", Files.readString(file), "written through, not buffered");
            IntStream.range(0, 40).forEach(i -> log.line("line " + i));
            List<String> tail = log.tail();
            assertEquals(BuildLog.TAIL_LINES, tail.size());
            assertEquals("line 10", tail.getFirst());
            assertEquals("line 39", tail.getLast());
        }
    }

    @Test
    void rawOutputIsSplitIntoLinesAndAPartialOneWaits() throws IOException {
        Path file = dir.resolve("build.log");
        try (BuildLog log = BuildLog.open(file)) {
            byte[] a = "Get:1 http://deb\nGet:2 ht".getBytes(StandardCharsets.UTF_8);
            log.output(a, 0, a.length);
            assertEquals("Get:1 http://deb\n", Files.readString(file));
            byte[] b = "tp://deb\nSetting".getBytes(StandardCharsets.UTF_8);
            log.output(b, 0, b.length);
            log.line("a line of its own");
            assertEquals(List.of("Get:1 http://deb", "Get:2 http://deb", "Setting", "a line of its own"), log.tail());
            byte[] c = "tail without newline".getBytes(StandardCharsets.UTF_8);
            log.output(c, 5, 7);
        }
        assertTrue(Files.readString(file).endsWith("a line of its own\nwithout\n"), Files.readString(file));
    }

    @Test
    void overTheLimitOneNoteAndNothingMoreButTheTailGoesOn() throws IOException {
        Path file = dir.resolve("build.log");
        try (BuildLog log = BuildLog.open(file, 100)) {
            for (int i = 0; i < 20; i++) {
                log.line("line number " + i);
            }
            assertEquals("line number 19", log.tail().getLast(), "dropped lines still reach the tail");
        }
        String text = Files.readString(file);
        assertTrue(text.startsWith("line number 0\n"), text);
        assertTrue(text.endsWith("[build log over 100 bytes: later lines are left out of this file]\n"), text);
        assertEquals(1, text.lines().filter(l -> l.startsWith("[build log over")).count());
        assertTrue(Files.size(file) <= 100 + 80, "bounded: " + Files.size(file));
    }

    @Test
    void theDefaultLimitIsOneMebibyte() throws IOException {
        Path file = dir.resolve("build.log");
        String kib = "x".repeat(1023);
        try (BuildLog log = BuildLog.open(file)) {
            for (int i = 0; i < 2048; i++) {
                log.line(kib);
            }
        }
        long size = Files.size(file);
        assertTrue(size > BuildLog.MAX_BYTES - 1024 && size < BuildLog.MAX_BYTES + 200, "size " + size);
    }

    @Test
    void longLinesAreCutInTheTailAndBrokenInRawOutput() throws IOException {
        try (BuildLog log = BuildLog.open(dir.resolve("build.log"))) {
            log.line("y".repeat(10_000));
            assertEquals(BuildLog.MAX_LINE_CHARS + 3, log.tail().getFirst().length());
            byte[] raw = "z".repeat(BuildLog.MAX_LINE_CHARS * 2 + 5).getBytes(StandardCharsets.UTF_8);
            log.output(raw, 0, raw.length);
            assertEquals(3, log.tail().size(), "two full pieces flushed: " + log.tail().size());
        }
    }

    @Test
    void linesAfterCloseReachOnlyTheTail() throws IOException {
        Path file = dir.resolve("build.log");
        BuildLog log = BuildLog.open(file);
        log.close();
        log.line("late");
        assertEquals("", Files.readString(file));
        assertEquals(List.of("late"), log.tail());
        log.close();
    }
}
