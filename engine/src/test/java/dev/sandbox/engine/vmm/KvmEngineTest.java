package dev.sandbox.engine.vmm;

import dev.sandbox.engine.Engine;
import dev.sandbox.engine.EngineConfig;
import dev.sandbox.engine.EngineException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class KvmEngineTest {
    @TempDir
    Path dir;

    @Test
    void lastLinesKeepsTheEndOfTheConsole() {
        assertEquals("c\nd\n", KvmEngine.lastLines("a\nb\nc\nd\n", 2));
        assertEquals("a\nb\n", KvmEngine.lastLines("a\nb\n", 5));
        assertEquals("b\nc", KvmEngine.lastLines("a\nb\nc", 2));
        assertEquals("", KvmEngine.lastLines("", 3));
    }

    /** On a host whose /dev/kvm is kvm_pvm (as on our dev machines) the engine refuses at once instead of hanging. */
    @Test
    void refusesTheParavirtualKvmThatCannotBootLinux() {
        assumeTrue(Files.exists(KvmEngine.KVM_PVM_MODULE), "not a kvm_pvm host");
        EngineException e = assertThrows(EngineException.class,
                () -> Engine.open(EngineConfig.defaults(dir.resolve("data"), dir)));
        assertEquals(EngineException.Kind.CONFIG, e.kind());
        assertTrue(e.getMessage().contains("kvm_pvm"), e.getMessage());
    }

    @Test
    void refusesAHostWithoutUsableKvmOrKernelAsConfig() {
        assumeTrue(!Files.exists(KvmEngine.KVM_PVM_MODULE), "covered by the kvm_pvm test");
        EngineException e = assertThrows(EngineException.class,
                () -> Engine.open(EngineConfig.defaults(dir.resolve("data"), dir))); // no vmlinux in dir
        assertEquals(EngineException.Kind.CONFIG, e.kind());
    }
}
