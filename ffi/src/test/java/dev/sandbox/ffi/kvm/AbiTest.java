package dev.sandbox.ffi.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sandbox.ffi.Errno;
import dev.sandbox.ffi.LinuxAbi;
import dev.sandbox.ffi.ThreadSignals;
import dev.sandbox.ffi.net.TapAbi;
import java.io.IOException;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.PaddingLayout;
import java.lang.foreign.SequenceLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checks every layout, ioctl number and constant the Java side declares against C. The C program is generated
 * from the Java declarations (all public static fields of the ABI classes, every named member of every layout),
 * so a new declaration is checked without touching this test.
 */
class AbiTest {
    /** The classes whose public static fields are ABI: layouts, ioctls, int constants. */
    private static final List<Class<?>> ABI_CLASSES =
            List.of(KvmAbi.class, KvmIoctls.class, KvmConstants.class, LinuxAbi.class, TapAbi.class);

    private static final String HEADERS = """
            #define _GNU_SOURCE
            #include <stddef.h>
            #include <stdio.h>
            #include <errno.h>
            #include <fcntl.h>
            #include <poll.h>
            #include <sched.h>
            #include <signal.h>
            #include <time.h>
            #include <unistd.h>
            #include <sys/mman.h>
            #include <sys/eventfd.h>
            #include <net/if.h>
            #include <linux/kvm.h>
            #include <linux/if_tun.h>
            #include <linux/virtio_net.h>
            """;

    /** One number to compare: the C expression and what Java says it is. */
    private record Check(String key, String cExpr, long javaValue, boolean isInt) {}

    @Test
    void everyLayoutIoctlAndConstantMatchesC(@TempDir Path dir) throws Exception {
        List<Check> checks = new ArrayList<>();
        for (Class<?> c : ABI_CLASSES) {
            for (Field f : c.getDeclaredFields()) {
                int mod = f.getModifiers();
                if (!Modifier.isPublic(mod) || !Modifier.isStatic(mod)) {
                    continue;
                }
                Object v = f.get(null);
                switch (v) {
                    case GroupLayout g -> layoutChecks(g, checks);
                    case Ioctl i -> {
                        assertEquals(f.getName(), i.name(), "Ioctl name must match its field");
                        checks.add(new Check(i.name(), i.name(), i.number(), false));
                    }
                    case Integer i -> checks.add(new Check(f.getName(), f.getName(), i, true));
                    default -> throw new AssertionError("unchecked ABI field " + c.getSimpleName() + "." + f.getName());
                }
            }
        }
        for (Errno e : Errno.values()) {
            checks.add(new Check(e.name(), e.name(), e.value(), true));
        }
        checks.add(new Check("KICK_SIGNAL", "SIGRTMIN + 5", ThreadSignals.KICK_SIGNAL, true));

        Map<String, Long> c = runC(dir, checks);
        List<String> mismatches = new ArrayList<>();
        for (Check check : checks) {
            Long cValue = c.get(check.key());
            boolean same = cValue != null
                    && (check.isInt() ? (int) (long) cValue == (int) check.javaValue() : cValue == check.javaValue());
            if (!same) {
                mismatches.add(check.key() + ": java " + check.javaValue() + ", C " + cValue);
            }
        }
        System.out.println("ABI checks against C: " + checks.size());
        assertTrue(mismatches.isEmpty(), "ABI mismatches:\n" + String.join("\n", mismatches));
        assertTrue(checks.size() > 400, "suspiciously few checks: " + checks.size());
    }

    private static String cType(String name) {
        return name.endsWith("_t") ? name : "struct " + name;
    }

    static void layoutChecks(GroupLayout root, List<Check> out) {
        String name = root.name().orElseThrow(() -> new AssertionError("unnamed ABI layout " + root));
        out.add(new Check("sizeof " + name, "sizeof(" + cType(name) + ")", root.byteSize(), false));
        members(root, name, root, List.of(), "", out);
    }

    private static void members(GroupLayout root, String rootName, GroupLayout group, List<PathElement> path,
            String cPath, List<Check> out) {
        for (MemoryLayout m : group.memberLayouts()) {
            if (m instanceof PaddingLayout || m.name().isEmpty()) {
                continue;
            }
            String name = m.name().get();
            boolean anonymous = name.startsWith("anon_");
            String cMember = anonymous ? cPath : cPath.isEmpty() ? name : cPath + "." + name;
            List<PathElement> p = new ArrayList<>(path);
            p.add(PathElement.groupElement(name));
            if (!anonymous) {
                String type = cType(rootName);
                String key = rootName + "." + cMember;
                out.add(new Check("offsetof " + key, "offsetof(" + type + ", " + cMember + ")",
                        root.byteOffset(p.toArray(PathElement[]::new)), false));
                if (m instanceof SequenceLayout s && s.elementCount() == 0) {
                    // A flexible array member has no sizeof: check its element instead.
                    out.add(new Check("sizeof " + key + "[0]", "sizeof(((" + type + " *)0)->" + cMember + "[0])",
                            s.elementLayout().byteSize(), false));
                } else {
                    out.add(new Check("sizeof " + key, "sizeof(((" + type + " *)0)->" + cMember + ")",
                            m.byteSize(), false));
                }
            }
            if (m instanceof GroupLayout g) {
                members(root, rootName, g, p, cMember, out);
            } else if (m instanceof SequenceLayout s && s.elementLayout() instanceof GroupLayout g
                    && s.elementCount() > 0) {
                p.add(PathElement.sequenceElement(0));
                members(root, rootName, g, p, cMember + "[0]", out);
            }
        }
    }

    private static Map<String, Long> runC(Path dir, List<Check> checks) throws IOException, InterruptedException {
        StringBuilder src = new StringBuilder(HEADERS).append("int main(void) {\n");
        for (Check check : checks) {
            src.append("    printf(\"%s %llu\\n\", \"").append(check.key()).append("\", (unsigned long long)(")
                    .append(check.cExpr()).append("));\n");
        }
        src.append("    return 0;\n}\n");
        Path c = dir.resolve("abi.c");
        Path exe = dir.resolve("abi");
        Files.writeString(c, src);
        run(List.of("gcc", "-Wall", "-Werror", "-o", exe.toString(), c.toString()), dir);
        String output = run(List.of(exe.toString()), dir);
        Map<String, Long> values = new HashMap<>();
        for (String line : output.split("\n")) {
            int space = line.lastIndexOf(' ');
            values.put(line.substring(0, space), Long.parseUnsignedLong(line.substring(space + 1)));
        }
        return values;
    }

    private static String run(List<String> command, Path dir) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "timed out: " + command);
        assertEquals(0, p.exitValue(), command + " failed:\n" + out);
        return out;
    }
}
