package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandbox.engine.Cidr;
import dev.sandbox.engine.NetworkSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A sandbox's egress policy in its JSON form: the {@code network} field of a create request, of a Sandbox body and
 * of the persisted record. Networks are kept as strings in canonical form ({@code 198.51.100.0/24}), so a record
 * reads back whatever {@link Cidr} becomes.
 */
record NetworkPolicy(boolean internet, List<String> allowOut, List<String> denyOut) {

    private static final Set<String> KEYS = Set.of("internet", "allow_out", "deny_out");

    NetworkPolicy {
        allowOut = allowOut == null ? List.of() : List.copyOf(allowOut);
        denyOut = denyOut == null ? List.of() : List.copyOf(denyOut);
    }

    /** Null for none. */
    static NetworkPolicy of(NetworkSpec spec) {
        if (spec == null) {
            return null;
        }
        return new NetworkPolicy(spec.internet(), spec.allowOut().stream().map(Cidr::toString).toList(),
                spec.denyOut().stream().map(Cidr::toString).toList());
    }

    NetworkSpec spec() {
        return new NetworkSpec(internet, allowOut.stream().map(Cidr::parse).toList(),
                denyOut.stream().map(Cidr::parse).toList());
    }

    /**
     * A request's {@code network} object, checked strictly (each failure a 400 naming the field): only the three
     * keys, {@code internet} a boolean (default true), the lists arrays of IPv4 CIDR strings (default empty).
     */
    static NetworkSpec parse(JsonNode v) {
        if (!v.isObject()) {
            throw Fields.bad("network must be an object with internet, allow_out, deny_out (or null for none)");
        }
        for (var field : v.properties()) {
            if (!KEYS.contains(field.getKey())) {
                throw Fields.bad("network." + field.getKey() + " is not a known field (internet, allow_out, deny_out)");
            }
        }
        JsonNode internet = v.get("internet");
        if (internet != null && !internet.isBoolean()) {
            throw Fields.bad("network.internet must be true or false");
        }
        return new NetworkSpec(internet == null || internet.booleanValue(), cidrs(v, "allow_out"),
                cidrs(v, "deny_out"));
    }

    private static List<Cidr> cidrs(JsonNode network, String name) {
        JsonNode list = network.get(name);
        if (list == null) {
            return List.of();
        }
        String field = "network." + name;
        if (!list.isArray()) {
            throw Fields.bad(field + " must be an array of IPv4 CIDR strings");
        }
        if (list.size() > NetworkSpec.MAX_RULES) {
            throw Fields.bad(field + " has " + list.size() + " networks, at most " + NetworkSpec.MAX_RULES);
        }
        List<Cidr> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            JsonNode item = list.get(i);
            if (!item.isTextual()) {
                throw Fields.bad(field + "[" + i + "] must be a string");
            }
            try {
                out.add(Cidr.parse(item.textValue()));
            } catch (IllegalArgumentException e) {
                throw Fields.bad(field + "[" + i + "]: " + e.getMessage());
            }
        }
        return out;
    }
}
