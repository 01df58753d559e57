// Third-party telemetry is off in every process of ours (issue 15.6): this extension sends
// nothing, and neither may the libraries it runs. ONNX Runtime ≥ 1.29 on Linux and macOS keeps a
// device id and an event database of the sessions it creates (~/.cache/Microsoft/DeveloperTools/
// .onnxruntime/, plus an empty mat-debug-<pid>.log in the temp folder) and uploads them, unless
// ORT_DISABLE_TELEMETRY=1 is in the *process* environment when it initialises. A worker thread's
// process.env is a private copy the native library never reads, so the main thread (extension
// host, CLI, test runners) sets it before a worker or ONNX Runtime starts.

/** Environment entries that turn third-party telemetry off (for spawned processes too). */
export const TELEMETRY_OFF_ENV: Readonly<Record<string, string>> = Object.freeze({ ORT_DISABLE_TELEMETRY: '1' });

/** Sets TELEMETRY_OFF_ENV in `env` (default: this process's real environment, in a main thread). */
export function turnOffThirdPartyTelemetry(env: Record<string, string | undefined> = process.env): void {
  for (const [k, v] of Object.entries(TELEMETRY_OFF_ENV)) env[k] = v;
}

/** True when `env` holds every TELEMETRY_OFF_ENV entry. */
export function isThirdPartyTelemetryOff(env: Record<string, string | undefined> = process.env): boolean {
  return Object.entries(TELEMETRY_OFF_ENV).every(([k, v]) => env[k] === v);
}
