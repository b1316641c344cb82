/**
 * The REST server: the contract in {@code openapi.yaml} over the {@code dev.sandbox.engine} library, on Helidon SE
 * (virtual threads) with Jackson.
 * <ul>
 *   <li>{@link dev.sandbox.server.SandboxServer} wires it: one {@code HttpService} per resource
 *       ({@code SandboxesService}, {@code ExecService}, {@code FilesService}, {@code DirsService} (an extension:
 *       list, mkdir, delete), {@code ProcessesService} (an extension: background processes, their NDJSON output
 *       stream in {@code ProcessStream}), {@code TemplatesService} (an extension: list, show, build, delete
 *       templates; bodies {@code TemplateRequest} and {@code TemplateBody}), {@code SystemService}), the access log
 *       filter, the metrics filter ({@code MetricsFilter} into {@code Metrics}, served at {@code /metrics}), the API
 *       key filter
 *       ({@code ApiKeyFilter} over {@code ApiKeys}), and {@code ErrorMapper}, the one place exceptions become
 *       {@code {"error":{code,message}}}.</li>
 *   <li>{@code SandboxService} is the lifecycle, HTTP-free: per-sandbox locks for lifecycle operations, lock-free
 *       execs and file transfers, the idle reaper's work, reconciliation with the engine.</li>
 *   <li>{@code RecordStore} keeps every record as JSON in a persisted Chronicle Map: a hot index, not the truth
 *       after a crash. What must survive one is on disk apart: the engine's snapshot manifests (a paused sandbox)
 *       and the {@code DestroyJournal} (a destroy answered); {@code StartupReconciler} rebuilds the records from
 *       them at start.</li>
 *   <li>{@code Gate} (one per sandbox) lets work in without locks and tells a call cut off by a pause, resume or
 *       destroy that it lost a race (409), and a stream ({@code ExecStream}: bounded output between the agent's
 *       reader and an NDJSON response) that it must end now; {@code Admission} claims host memory and vCPUs for running sandboxes
 *       (503 beyond the budget); {@code PrivateFiles} keeps the data dir to its owner.</li>
 *   <li>Requests are records parsed strictly from JSON trees ({@code CreateRequest}, {@code ExecCommand},
 *       {@code ProcessStartRequest}).</li>
 * </ul>
 */
package dev.sandbox.server;
