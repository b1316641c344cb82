package dev.sandbox.server;

import dev.sandbox.engine.TemplateInfo;

import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * A template as the API shows it (schema {@code Template} in openapi-extensions.yaml). {@code base} only for a
 * custom template; {@code error} only for a failed one: why, then the last lines of its build log.
 */
record TemplateBody(String name, String kind, String status, boolean builtIn, long sizeBytes, Instant createdAt,
                    String base, String error) {

    static TemplateBody of(TemplateInfo t) {
        return new TemplateBody(t.name(), t.kind().name().toLowerCase(Locale.ROOT),
                t.status().name().toLowerCase(Locale.ROOT), t.builtIn(), t.sizeBytes(), t.createdAt(), t.base(),
                t.status() == TemplateInfo.Status.FAILED ? t.message() : null);
    }

    /** {@code GET /v1/templates}: an object, so fields can be added later. */
    record Listing(List<TemplateBody> templates) {
        static Listing of(List<TemplateInfo> all) {
            return new Listing(all.stream().map(TemplateBody::of).toList());
        }
    }
}
