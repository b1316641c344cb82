package dev.sandbox.server;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The pre-generated {@code VanillaGlobalMutableState$$Native} in server/src/main/java is exactly what the Chronicle
 * Values on the class path would generate (and compile with javac at every start), and Chronicle takes it.
 */
class ChronicleNativeClassTest {

    static final String STATE = "net.openhft.chronicle.hash.VanillaGlobalMutableState";

    @Test
    void theCommittedClassIsWhatChronicleWouldGenerate() throws Exception {
        Class<?> state = Class.forName(STATE);
        Class<?> model = Class.forName("net.openhft.chronicle.values.ValueModel");
        Method acquire = model.getDeclaredMethod("acquire", Class.class);
        acquire.setAccessible(true);
        Method generate = Class.forName("net.openhft.chronicle.values.Generators")
                .getDeclaredMethod("generateNativeClass", model, String.class);
        generate.setAccessible(true);
        String fresh = (String) generate.invoke(null, acquire.invoke(null, state), "VanillaGlobalMutableState$$Native");

        String root = System.getProperty("sandbox.root", Path.of("").toAbsolutePath().getParent().toString());
        String committed = Files.readString(Path.of(root, "server", "src", "main", "java", "net", "openhft",
                "chronicle", "hash", "VanillaGlobalMutableState$$Native.java"));
        assertEquals(fresh, committed.substring(committed.indexOf("package ")),
                "Chronicle Values now generates another class: paste its text (the expected value) into the file");
    }

    @Test
    void chronicleLoadsThePreGeneratedClass() throws Exception {
        Class<?> values = Class.forName("net.openhft.chronicle.values.Values");
        Class<?> nativeClass = (Class<?>) values.getMethod("nativeClassFor", Class.class)
                .invoke(null, Class.forName(STATE));
        // from our own classes, not defined at run time (a class javac made here has no code source)
        assertEquals(SandboxServer.class.getProtectionDomain().getCodeSource().getLocation(),
                nativeClass.getProtectionDomain().getCodeSource().getLocation());
    }
}
