/**
 * The template catalog: what sandboxes boot from. {@link dev.sandbox.engine.templates.TemplateCatalog} lists the
 * built-in templates of the guest folder ({@code <name>.cpio.gz}, an initramfs; {@code <name>.ext4}, a root disk
 * image) and the custom ones built from a disk template plus Debian packages and shell steps
 * ({@link dev.sandbox.engine.TemplateRecipe}), each in a folder of its own with a durable record; it resolves a
 * name to the {@link dev.sandbox.engine.templates.TemplateSource} the VMM boots. Builds run on virtual threads
 * through a {@link dev.sandbox.engine.templates.BuildRunner}, which the engine implements with a sandbox VM (the
 * recipe never runs on the host), logging into a bounded {@link dev.sandbox.engine.templates.BuildLog}.
 * {@link dev.sandbox.engine.templates.RecipeRules} bounds what a recipe may hold.
 */
package dev.sandbox.engine.templates;
