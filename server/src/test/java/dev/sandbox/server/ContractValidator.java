package dev.sandbox.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.JsonMetaSchema;
import com.networknt.schema.NonValidationKeyword;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks one HTTP response against the bundled {@code openapi.yaml} with networknt's JSON Schema validator (draft
 * 2020-12, the dialect of OpenAPI 3.1; format assertions on, so timestamps must be RFC 3339).
 * <p>
 * A status the operation declares must carry the declared content type and a body valid against its schema (or no
 * body where none is declared). An error status the contract leaves out (a 400 on create, a 404 on pause) must
 * still carry the contract's {@code Error} body, with both {@code code} and {@code message} strings.
 * <p>
 * An operation the contract does not have (the server's own: directories) is checked the same way against
 * {@code openapi-extensions.yaml}, where it must be declared.
 * <p>
 * Then against {@code openapi-extensions.yaml}, what the server adds: a {@code Sandbox} or {@code ExecResponse}
 * may carry only the contract's fields plus the extension's (each of the declared type), and every error code must
 * be one the extension lists.
 */
final class ContractValidator {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();

    private final JsonNode contract;
    private final JsonNode extensions;
    /** Draft 2020-12, told that the OpenAPI-only words beside the schemas are not assertions. */
    private final JsonSchemaFactory factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012,
            b -> b.metaSchema(JsonMetaSchema.builder(JsonMetaSchema.getV202012())
                    .keyword(new NonValidationKeyword("components"))
                    .keyword(new NonValidationKeyword("nullable"))
                    .build()));
    private final SchemaValidatorsConfig config = SchemaValidatorsConfig.builder()
            .formatAssertionsEnabled(true)
            .build();
    private final Map<String, JsonSchema> schemas = new ConcurrentHashMap<>();

    ContractValidator() {
        contract = load("/openapi.yaml");
        extensions = load("/openapi-extensions.yaml");
    }

    private static JsonNode load(String resource) {
        try (InputStream in = ContractValidator.class.getResourceAsStream(resource)) {
            return YAML.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every operation in the contract as "METHOD /path", for coverage checks. */
    Set<String> operations() {
        Set<String> ops = new java.util.TreeSet<>();
        contract.get("paths").properties().forEach(p -> p.getValue().properties().forEach(m -> {
            if (!m.getKey().equals("parameters")) {
                ops.add(m.getKey().toUpperCase(Locale.ROOT) + " " + p.getKey());
            }
        }));
        return ops;
    }

    void validate(String method, String pathTemplate, int status, String contentType, byte[] body) {
        String where = method + " " + pathTemplate + " → " + status;
        JsonNode doc = contract;
        JsonNode operation = contract.path("paths").path(pathTemplate).path(method.toLowerCase(Locale.ROOT));
        if (!operation.isObject()) { // the server's own operations are declared in the extensions
            doc = extensions;
            operation = extensions.path("paths").path(pathTemplate).path(method.toLowerCase(Locale.ROOT));
        }
        assertTrue(operation.isObject(), "operation in neither openapi.yaml nor openapi-extensions.yaml: " + method
                + " " + pathTemplate);
        JsonNode response = operation.path("responses").path(String.valueOf(status));
        if (response.isMissingNode()) {
            assertTrue(status >= 400, where + ": success status not declared in the contract");
            validateJson(where, "#/components/schemas/Error", errorSchema(), contentType, body, contract);
            JsonNode error = parse(where, body).path("error");
            assertTrue(error.path("code").isTextual() && error.path("message").isTextual(),
                    where + ": error body needs code and message: " + new String(body));
            checkErrorCode(where, error);
            return;
        }
        JsonNode content = response.path("content");
        if (content.isMissingNode()) {
            assertEquals(0, body.length, where + ": the contract declares no body");
            return;
        }
        assertNotNull(contentType, where + ": no Content-Type");
        String mediaType = contentType.split(";")[0].trim();
        JsonNode media = content.path(mediaType);
        assertTrue(media.isObject(), where + ": Content-Type " + mediaType + " not declared; declared: "
                + content.properties().stream().map(Map.Entry::getKey).toList());
        if (mediaType.equals("application/json")) {
            validateJson(where, where, media.path("schema"), contentType, body, doc);
            checkExtensions(where, media.path("schema"), parse(where, body));
        }
        if (status >= 400) {
            JsonNode error = parse(where, body).path("error");
            assertTrue(error.path("code").isTextual() && error.path("message").isTextual(),
                    where + ": error body needs code and message: " + new String(body));
            checkErrorCode(where, error);
        }
    }

    private void checkErrorCode(String where, JsonNode error) {
        List<String> codes = new ArrayList<>();
        extensions.at("/components/schemas/ErrorCode/enum").forEach(c -> codes.add(c.asText()));
        assertTrue(codes.contains(error.path("code").asText()), where + ": error code " + error.path("code")
                + " is not documented in openapi-extensions.yaml " + codes);
    }

    /**
     * A body of a contract schema that the extensions extend (Sandbox, ExecResponse; also as array items): only
     * the contract's fields and the extension's, the latter valid against the extension's schema.
     */
    private void checkExtensions(String where, JsonNode schema, JsonNode body) {
        boolean array = schema.path("type").asText().equals("array");
        String ref = (array ? schema.path("items") : schema).path("$ref").asText("");
        String name = ref.substring(ref.lastIndexOf('/') + 1);
        JsonNode extension = extensions.path("components").path("schemas").path(name);
        if (name.isEmpty() || extension.isMissingNode()) {
            return;
        }
        JsonNode declared = contract.path("components").path("schemas").path(name).path("properties");
        for (JsonNode item : array ? body : List.of(body)) {
            item.properties().forEach(field -> assertTrue(declared.has(field.getKey())
                            || extension.path("properties").has(field.getKey()),
                    where + ": field " + field.getKey() + " is in neither openapi.yaml nor openapi-extensions.yaml"));
            validateExtension(where, name, item);
        }
    }

    /** Checks {@code body} against the schema {@code name} of openapi-extensions.yaml. */
    void validateExtension(String where, String name, JsonNode body) {
        JsonSchema schema = schemas.computeIfAbsent("ext:" + name, k -> {
            ObjectNode doc = JSON.createObjectNode().put("$ref", "#/components/schemas/" + name);
            doc.put("$schema", "https://json-schema.org/draft/2020-12/schema");
            doc.set("components", extensions.get("components"));
            return factory.getSchema(doc, config);
        });
        Set<ValidationMessage> errors = schema.validate(body);
        assertTrue(errors.isEmpty(), where + ": breaks openapi-extensions.yaml " + name + ": " + errors + "\n" + body);
    }

    private JsonNode errorSchema() {
        return JSON.createObjectNode().put("$ref", "#/components/schemas/Error");
    }

    private void validateJson(String where, String key, JsonNode schemaNode, String contentType, byte[] body,
                              JsonNode doc) {
        assertTrue(contentType != null && contentType.startsWith("application/json"),
                where + ": expected application/json, got " + contentType);
        JsonSchema schema = schemas.computeIfAbsent(key, k -> {
            // The schema plus its document's components, so "#/components/schemas/X" resolves in one document.
            ObjectNode one = schemaNode.deepCopy();
            one.put("$schema", "https://json-schema.org/draft/2020-12/schema");
            one.set("components", doc.get("components"));
            return factory.getSchema(one, config);
        });
        Set<ValidationMessage> errors = schema.validate(parse(where, body));
        assertTrue(errors.isEmpty(), where + ": response breaks the contract: " + errors + "\n" + new String(body));
    }

    private static JsonNode parse(String where, byte[] body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            fail(where + ": body is not JSON: " + new String(body));
            return null;
        }
    }

    /** Self-check: the validator must reject what the contract forbids, or it proves nothing. */
    boolean accepts(String schemaName, String json) {
        JsonSchema schema = schemas.computeIfAbsent("self:" + schemaName, k -> {
            ObjectNode doc = JSON.createObjectNode().put("$ref", "#/components/schemas/" + schemaName);
            doc.put("$schema", "https://json-schema.org/draft/2020-12/schema");
            doc.set("components", contract.get("components"));
            return factory.getSchema(doc, config);
        });
        try {
            return schema.validate(JSON.readTree(json)).isEmpty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
