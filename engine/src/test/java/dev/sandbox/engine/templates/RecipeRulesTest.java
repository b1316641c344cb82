package dev.sandbox.engine.templates;

import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.TemplateRecipe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every bound of a recipe, at the limit (accepted) and one past it (refused with the field's name). */
class RecipeRulesTest {

    static TemplateRecipe recipe(String name, List<String> packages, List<String> run, List<String> apt) {
        return new TemplateRecipe(name, "python", packages, run, apt);
    }

    static String refused(TemplateRecipe r) {
        EngineException e = assertThrows(EngineException.class, () -> RecipeRules.check(r));
        assertEquals(EngineException.Kind.INVALID_SPEC, e.kind());
        return e.getMessage();
    }

    @Test
    void aFullRecipeAtEveryLimitPasses() {
        RecipeRules.check(recipe("a".repeat(64), Collections.nCopies(200, "python3-numpy=1:1.24.2-1+b1~bpo12"),
                Collections.nCopies(100, "x".repeat(8192)),
                Collections.nCopies(16, "deb [signed-by=/k.gpg] http://deb.example/debian bookworm main")));
        RecipeRules.check(recipe("0-x_y", List.of("g++", "libc6.1-dev"), List.of("echo 'a\nb'"), List.of()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "-a", "_a", "Abc", "a.b", "a/b", "a b", "é"})
    void badNames(String name) {
        assertTrue(refused(recipe(name, List.of(), List.of(), List.of())).startsWith("name must be"));
    }

    @Test
    void aNameOf65IsRefused() {
        assertTrue(refused(recipe("a".repeat(65), List.of(), List.of(), List.of())).startsWith("name must be"));
    }

    @Test
    void anEmptyBaseIsRefused() {
        assertEquals("base is required: the disk template to build from",
                assertThrows(EngineException.class, () -> RecipeRules.check(new TemplateRecipe("x", "", List.of(),
                        List.of(), List.of()))).getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"a", "Python3", "-x", "x y", "x;rm -rf /", "x=", "x=1 2", "x=$(id)", "x\ny", "x=1=2"})
    void badPackages(String p) {
        String m = refused(recipe("x", List.of("curl", p), List.of(), List.of()));
        assertTrue(m.startsWith("packages[1]: not a Debian package name"), m);
    }

    @Test
    void packageCountAndLength() {
        assertEquals("packages has 201 entries, at most 200",
                refused(recipe("x", Collections.nCopies(201, "curl"), List.of(), List.of())));
        assertTrue(refused(recipe("x", List.of("a".repeat(257)), List.of(), List.of())).startsWith("packages[0]"));
    }

    @Test
    void runSteps() {
        assertEquals("run has 101 steps, at most 100",
                refused(recipe("x", List.of(), Collections.nCopies(101, "true"), List.of())));
        assertEquals("run[1] must be 1..8192 characters, got 0",
                refused(recipe("x", List.of(), List.of("true", ""), List.of())));
        assertEquals("run[0] must be 1..8192 characters, got 8193",
                refused(recipe("x", List.of(), List.of("x".repeat(8193)), List.of())));
        assertEquals("run[0] contains a NUL character",
                refused(recipe("x", List.of(), List.of("echo a\0b"), List.of())));
    }

    @ParameterizedTest
    @ValueSource(strings = {"deb-src http://x bookworm main", "deb http://x bookworm main\ndeb http://y z main",
        "deb http://x bookworm main\r", "http://x bookworm main", "deb", " deb http://x b main", "deb\0"})
    void badAptSources(String line) {
        String m = refused(recipe("x", List.of(), List.of(), List.of("deb http://ok bookworm main", line)));
        assertTrue(m.startsWith("apt source 2 must be one sources.list line starting with 'deb '"), m);
        assertTrue(!m.contains("\n") && !m.contains("\r") && !m.contains("\0"), "quoted printable: " + m);
    }

    @Test
    void atMost16AptSources() {
        assertEquals("apt sources: 17 lines, at most 16",
                refused(recipe("x", List.of(), List.of(), Collections.nCopies(17, "deb http://x b main"))));
    }
}
