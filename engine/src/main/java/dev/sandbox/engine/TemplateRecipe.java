package dev.sandbox.engine;

import java.util.List;
import java.util.Objects;

/**
 * A custom template: a disk template {@code base} plus Debian {@code packages} (installed with apt-get from
 * {@code aptSources}, one sources.list line each; empty: the image's own) and shell steps {@code run} (each run with
 * {@code /bin/sh -c} as root, in order; the first that fails fails the build). Everything runs inside a sandbox VM,
 * never on the host.
 */
public record TemplateRecipe(String name, String base, List<String> packages, List<String> run,
                             List<String> aptSources) {
    public TemplateRecipe {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(base, "base");
        packages = List.copyOf(packages);
        run = List.copyOf(run);
        aptSources = List.copyOf(aptSources);
    }
}
