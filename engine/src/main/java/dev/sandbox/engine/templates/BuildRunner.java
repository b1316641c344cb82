package dev.sandbox.engine.templates;

import dev.sandbox.engine.TemplateRecipe;

import java.nio.file.Path;

/**
 * Builds one custom template's root image; the engine implements it with a sandbox VM (the recipe's commands never
 * run on the host). Called on a virtual thread of its own by {@link TemplateCatalog#start}.
 */
@FunctionalInterface
public interface BuildRunner {

    /**
     * Makes {@code outImage} (a path that does not exist yet) from a copy of {@code base}'s image with the recipe
     * applied: apt sources, packages, then each run step in order. Returning means success: the catalog then
     * syncs the image and moves it into place. Any exception fails the build; its message, with the tail of
     * {@code log}, becomes the template's message. Should stop soon after its thread is interrupted (the engine
     * is closing).
     */
    void build(TemplateRecipe recipe, TemplateSource.Disk base, Path outImage, BuildLog log) throws Exception;
}
