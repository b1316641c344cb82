package dev.sandbox.engine.templates;

import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.TemplateRecipe;

import java.util.List;
import java.util.regex.Pattern;

/**
 * What a {@link TemplateRecipe} may hold. Everything in it ends up in a build VM's shell or apt configuration, so
 * names are plain, lists are bounded and nothing smuggles in a second line. Each violation is INVALID_SPEC with a
 * message naming the field as the API spells it ({@code packages[3]}, {@code run[0]}).
 */
public final class RecipeRules {

    /** A custom template's name: also its folder's, so no dots (built-in ones may have them). */
    public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}");
    /** A Debian package name, optionally {@code =version}. */
    static final Pattern PACKAGE = Pattern.compile("[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?");
    public static final int MAX_PACKAGES = 200;
    static final int MAX_PACKAGE_CHARS = 256;
    public static final int MAX_STEPS = 100;
    public static final int MAX_STEP_CHARS = 8192;
    public static final int MAX_APT_SOURCES = 16;
    static final int MAX_APT_SOURCE_CHARS = 4096;

    private RecipeRules() {
    }

    /** Checks every field of {@code recipe}; the first violation is thrown. */
    public static void check(TemplateRecipe recipe) {
        checkName(recipe.name());
        if (recipe.base().isEmpty()) {
            throw invalid("base is required: the disk template to build from");
        }
        checkPackages(recipe.packages());
        checkRun(recipe.run());
        checkAptSources(recipe.aptSources());
    }

    public static void checkName(String name) {
        if (!NAME.matcher(name).matches()) {
            throw invalid("name must be 1..64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit:"
                    + " '" + printable(name) + "'");
        }
    }

    static void checkPackages(List<String> packages) {
        if (packages.size() > MAX_PACKAGES) {
            throw invalid("packages has " + packages.size() + " entries, at most " + MAX_PACKAGES);
        }
        for (int i = 0; i < packages.size(); i++) {
            String p = packages.get(i);
            if (p.length() > MAX_PACKAGE_CHARS || !PACKAGE.matcher(p).matches()) {
                throw invalid("packages[" + i + "]: not a Debian package name (like python3 or curl=7.88.1-10),"
                        + " got '" + printable(p) + "'");
            }
        }
    }

    static void checkRun(List<String> run) {
        if (run.size() > MAX_STEPS) {
            throw invalid("run has " + run.size() + " steps, at most " + MAX_STEPS);
        }
        for (int i = 0; i < run.size(); i++) {
            String step = run.get(i);
            if (step.isEmpty() || step.length() > MAX_STEP_CHARS) {
                throw invalid("run[" + i + "] must be 1.." + MAX_STEP_CHARS + " characters, got " + step.length());
            }
            if (step.indexOf('\0') >= 0) {
                throw invalid("run[" + i + "] contains a NUL character");
            }
        }
    }

    /** The server checks its {@code --apt-source} lines with this at start. */
    public static void checkAptSources(List<String> sources) {
        if (sources.size() > MAX_APT_SOURCES) {
            throw invalid("apt sources: " + sources.size() + " lines, at most " + MAX_APT_SOURCES);
        }
        for (int i = 0; i < sources.size(); i++) {
            String s = sources.get(i);
            if (!s.startsWith("deb ") || s.length() > MAX_APT_SOURCE_CHARS
                    || s.chars().anyMatch(c -> c == '\n' || c == '\r' || c == '\0')) {
                throw invalid("apt source " + (i + 1) + " must be one sources.list line starting with 'deb '"
                        + " (at most " + MAX_APT_SOURCE_CHARS + " characters), got '" + printable(s) + "'");
            }
        }
    }

    /** Messages quote what the caller sent: cut short and without control characters. */
    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(80).forEach(c -> b.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        return s.length() > 80 ? b + "..." : b.toString();
    }

    private static EngineException invalid(String message) {
        return new EngineException(EngineException.Kind.INVALID_SPEC, message);
    }
}
