// Child process of test/unit/telemetry.test.ts: runs one stylize job in the real worker bundle
// (dist/worker.js) and prints {runtime} or {error} as its last line. Its environment comes from
// the test (an isolated HOME, no ORT_DISABLE_TELEMETRY), so what it writes can be checked.
// usage: telemetryWorkerChild.ts client|raw <style> <photo> <outDir> <cacheDir>
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { EngineClient } from '../../src/services/engineClient';
import {
  DEFAULT_MAX_INPUT_PIXELS,
  type EngineSettings,
  type JobRequest,
  type StylizeResult,
} from '../../src/protocol/jobs';
import { REPO_ROOT } from './paths';

const [mode, style, photo, outDir, cacheDir] = process.argv.slice(2);
const workerPath = path.join(REPO_ROOT, 'dist', 'worker.js');
const settings: EngineSettings = {
  trainingBackend: 'auto',
  stylizeRuntime: 'onnx',
  threads: 0,
  cacheDir,
  extraModuleRoots: [],
  maxInputPixels: DEFAULT_MAX_INPUT_PIXELS,
};
const job: Extract<JobRequest, { type: 'stylize' }> = {
  type: 'stylize',
  inputs: [photo],
  style,
  options: { outDir, runtime: 'onnx' },
};

const summary = (r: StylizeResult) => ({
  runtime: r.runtime,
  outputs: r.outputs.length,
  failures: r.failures.map((f) => f.error.message),
});

async function viaClient(): Promise<unknown> {
  // The extension's way: the client turns telemetry off in this (the real) environment.
  const client = new EngineClient({ workerPath, settings: () => settings });
  try {
    return summary(await client.request(job));
  } finally {
    await client.terminateWorker();
  }
}

function raw(): Promise<unknown> {
  // A worker started by a thread that did not turn telemetry off: ONNX Runtime must refuse.
  const worker = new Worker(workerPath);
  return new Promise((resolve) => {
    worker.on('message', (m: { type: string; result?: StylizeResult; error?: { message: string } }) => {
      if (m.type === 'result' && m.result) resolve(summary(m.result));
      else if (m.type === 'error') resolve({ error: m.error?.message });
      else return;
      void worker.terminate();
    });
    worker.postMessage({ type: 'run', id: 1, job, settings });
  });
}

(mode === 'client' ? viaClient() : raw()).then(
  (r) => console.log(JSON.stringify(r)),
  (e) => console.log(JSON.stringify({ error: String(e) })),
);
