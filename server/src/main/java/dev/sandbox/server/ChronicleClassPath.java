package dev.sandbox.server;

import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.compiler.CompilerUtils;

import java.io.File;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Chronicle Map compiles a small class with javac at runtime, against {@code java.class.path}. When this server
 * was loaded by another class loader (JUnit's console launcher, an application embedding it), its jars are not
 * on that path and the compile fails ("class file for org.jetbrains.annotations.NotNull not found"). This adds
 * the jars our class loaders see, once, before the first map is built.
 */
final class ChronicleClassPath {

    private static boolean done;

    private ChronicleClassPath() {
    }

    static synchronized void ensure() {
        if (done) {
            return;
        }
        done = true;
        Set<String> present = Set.of(System.getProperty("java.class.path", "").split(File.pathSeparator));
        Set<String> wanted = new LinkedHashSet<>();
        for (ClassLoader l = RecordStore.class.getClassLoader(); l != null; l = l.getParent()) {
            if (l instanceof URLClassLoader urls) {
                for (URL url : urls.getURLs()) {
                    add(wanted, url);
                }
            }
        }
        for (Class<?> c : new Class<?>[]{ChronicleMap.class, org.jetbrains.annotations.NotNull.class,
                CompilerUtils.class}) {
            CodeSource source = c.getProtectionDomain().getCodeSource();
            if (source != null) {
                add(wanted, source.getLocation());
            }
        }
        wanted.removeAll(present);
        wanted.forEach(CompilerUtils::addClassPath);
    }

    private static void add(Set<String> out, URL url) {
        try {
            if (url != null && "file".equals(url.getProtocol())) {
                out.add(Path.of(url.toURI()).toString());
            }
        } catch (URISyntaxException | IllegalArgumentException ignored) {
            // not a plain file: javac could not use it anyway
        }
    }
}
