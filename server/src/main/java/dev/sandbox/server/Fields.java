package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Strict, typed access to a request object's fields, each failure a 400 naming the field. Absent fields give the
 * default; present ones must have exactly the schema's type (null is not an integer).
 */
record Fields(JsonNode node) {

    Optional<String> string(String name) {
        JsonNode v = node.get(name);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isTextual()) {
            throw bad(name + " must be a string");
        }
        return Optional.of(v.textValue());
    }

    String requiredString(String name) {
        return string(name).orElseThrow(() -> bad(name + " is required"));
    }

    Optional<Integer> integer(String name) {
        JsonNode v = node.get(name);
        if (v == null) {
            return Optional.empty();
        }
        // JSON Schema counts 2.0 as an integer; "2", true and null are not.
        if (!v.isNumber() || !v.canConvertToExactIntegral() || !v.canConvertToInt()) {
            throw bad(name + " must be an integer");
        }
        return Optional.of(v.intValue());
    }

    Optional<List<String>> strings(String name) {
        JsonNode v = node.get(name);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isArray()) {
            throw bad(name + " must be an array of strings");
        }
        List<String> out = new ArrayList<>(v.size());
        for (JsonNode item : v) {
            if (!item.isTextual()) {
                throw bad(name + " must be an array of strings");
            }
            out.add(item.textValue());
        }
        return Optional.of(out);
    }

    /** An object whose values are all strings, in the request's order. */
    Optional<Map<String, String>> stringMap(String name) {
        JsonNode v = node.get(name);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isObject()) {
            throw bad(name + " must be an object of strings");
        }
        Map<String, String> out = new LinkedHashMap<>();
        v.properties().forEach(e -> {
            if (!e.getValue().isTextual()) {
                throw bad(name + "." + e.getKey() + " must be a string");
            }
            out.put(e.getKey(), e.getValue().textValue());
        });
        return Optional.of(out);
    }

    static ApiException bad(String message) {
        return ApiError.BAD_REQUEST.exception(message);
    }
}
