package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.engine.EngineException;
import dev.sandbox.engine.TemplateRecipe;
import dev.sandbox.engine.templates.RecipeRules;

import java.util.ArrayList;
import java.util.List;

/**
 * A validated {@code POST /v1/templates} body: {@code {"name","base","packages":[...],"run":[...]}}, nothing else
 * (an unknown key is a 400: a misspelt {@code packages} must not build a template without them). Checked here
 * against {@link RecipeRules} too, so a bad body is a 400 naming the field whatever the engine.
 */
record TemplateRequest(String name, String base, List<String> packages, List<String> run) {

    private static final List<String> KEYS = List.of("name", "base", "packages", "run");

    TemplateRequest {
        packages = List.copyOf(packages);
        run = List.copyOf(run);
    }

    static TemplateRequest parse(Fields f) {
        for (var field : f.node().properties()) {
            if (!KEYS.contains(field.getKey())) {
                throw Fields.bad(field.getKey() + " is not a known field (" + String.join(", ", KEYS) + ")");
            }
        }
        TemplateRequest r = new TemplateRequest(f.requiredString("name"), f.requiredString("base"),
                strings(f.node(), "packages"), strings(f.node(), "run"));
        try {
            RecipeRules.check(r.recipe(List.of()));
        } catch (EngineException e) {
            throw Fields.bad(e.getMessage());
        }
        return r;
    }

    /** The recipe the engine builds, with the server's apt sources ({@code --apt-source}). */
    TemplateRecipe recipe(List<String> aptSources) {
        return new TemplateRecipe(name, base, packages, run, aptSources);
    }

    private static List<String> strings(JsonNode body, String name) {
        JsonNode v = body.get(name);
        if (v == null) {
            return List.of();
        }
        if (!v.isArray()) {
            throw Fields.bad(name + " must be an array of strings");
        }
        List<String> out = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            if (!v.get(i).isTextual()) {
                throw Fields.bad(name + "[" + i + "] must be a string");
            }
            out.add(v.get(i).textValue());
        }
        return out;
    }
}
