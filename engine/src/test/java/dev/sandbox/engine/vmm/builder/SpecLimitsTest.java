package dev.sandbox.engine.vmm.builder;

import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.SandboxSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SpecLimitsTest {
    @TempDir
    Path guest;

    private EngineConfig config() throws IOException {
        Files.writeString(guest.resolve("minimal.cpio.gz"), "x");
        return new EngineConfig(guest.resolve("data"), guest, 2, 128, 8192, Duration.ofSeconds(5));
    }

    @Test
    void acceptsASpecWithinLimits() throws IOException {
        assertDoesNotThrow(() -> SpecLimits.check(config(), new SandboxSpec("sb-1", "minimal", 2, 256)));
        assertDoesNotThrow(() -> SpecLimits.check(config(), new SandboxSpec("sb-1", "python", 2, 256, null,
                SandboxSpec.MAX_DISK_MB)));
    }

    @Test
    void rejectsOutOfBoundsSpecsAsInvalid() throws IOException {
        EngineConfig config = config();
        for (SandboxSpec bad : new SandboxSpec[] {
                new SandboxSpec("sb-1", "minimal", 0, 256),
                new SandboxSpec("sb-1", "minimal", 3, 256),
                new SandboxSpec("sb-1", "minimal", 1, 64),
                new SandboxSpec("sb-1", "minimal", 1, SpecLimits.MAX_MEMORY_MB + 1), // above the MMIO gap
                new SandboxSpec("sb-1", "python", 1, 256, null, SandboxSpec.MAX_DISK_MB + 1),
                new SandboxSpec("sb-1", "../minimal", 1, 256),
                new SandboxSpec("has space", "minimal", 1, 256)}) {
            EngineException e = assertThrows(EngineException.class, () -> SpecLimits.check(config, bad), bad::toString);
            assertEquals(EngineException.Kind.INVALID_SPEC, e.kind());
        }
    }
}
