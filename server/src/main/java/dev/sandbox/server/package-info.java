/**
 * The REST server: the contract in {@code openapi.yaml} over the {@code dev.sandbox.engine} library, on Helidon SE
 * (virtual threads) with Jackson.
 * <ul>
 *   <li>{@link dev.sandbox.server.SandboxServer} wires it: one {@code HttpService} per resource
 *       ({@code SandboxesService}, {@code ExecService}, {@code FilesService}, {@code SystemService}), the access
 *       log filter, and {@code ErrorMapper}, the one place exceptions become {@code {"error":{code,message}}}.</li>
 *   <li>{@code SandboxService} is the lifecycle, HTTP-free: per-sandbox locks for lifecycle operations, lock-free
 *       execs and file transfers, the idle reaper's work, reconciliation with the engine.</li>
 *   <li>{@code RecordStore} keeps every record as JSON in a persisted Chronicle Map; after a restart no record
 *       claims a VM the old process took with it.</li>
 *   <li>Requests are records parsed strictly from JSON trees ({@code CreateRequest}, {@code ExecCommand}).</li>
 * </ul>
 */
package dev.sandbox.server;
