// The engine's worker thread (DESIGN §2): receives jobs from the extension host, runs them,
// streams progress and answers each with exactly one result or error. Jobs are cancelled by
// message (AbortSignal), never by killing the thread: tfjs-node cannot load twice in one
// process (tensorflow/tfjs#2079).
import { parentPort } from 'node:worker_threads';
import { toErrorInfo } from '../protocol/errors';
import { type WorkerToHost } from '../protocol/jobs';
import { isHostToWorker, jobRequestProblem } from '../protocol/jobChecks';
import { runJob } from './jobs';
import { allowThreadedWasm } from './tfjs/backends';

if (!parentPort) throw new Error('worker.ts must run in a worker thread');
// This thread is terminated by the host, so the threaded WebAssembly build may keep threads.
allowThreadedWasm();
const port = parentPort;
const running = new Map<number, AbortController>();

/** Uint8Arrays found in a result, moved instead of copied. */
function transferables(value: unknown, out: ArrayBuffer[] = [], depth = 0): ArrayBuffer[] {
  if (depth > 4 || value === null || typeof value !== 'object') return out;
  if (value instanceof Uint8Array) {
    if (
      value.buffer instanceof ArrayBuffer &&
      value.byteOffset === 0 &&
      value.byteLength === value.buffer.byteLength &&
      !out.includes(value.buffer)
    )
      out.push(value.buffer);
    return out;
  }
  for (const v of Object.values(value)) transferables(v, out, depth + 1);
  return out;
}

function post(message: WorkerToHost): void {
  port.postMessage(message, transferables(message));
}

port.on('message', (message: unknown) => {
  if (!isHostToWorker(message)) {
    post({
      type: 'log',
      level: 'error',
      message: `worker: ignored a malformed message ${JSON.stringify(message)?.slice(0, 200)}`,
    });
    return;
  }
  if (message.type === 'cancel') {
    running.get(message.id)?.abort();
    return;
  }
  // Here no native call (ONNX Runtime, tfjs) is in flight on this thread, so the thread can end
  // cleanly; Worker.terminate() during one makes the addon throw while its thread is torn down,
  // which aborts the whole extension host.
  if (message.type === 'exit') process.exit(0);
  const { id, job, settings } = message;
  const problem = jobRequestProblem(job, settings);
  if (problem) {
    post({
      type: 'error',
      id,
      error: {
        code: 'bad-input',
        message: `malformed ${typeof job.type === 'string' ? job.type.slice(0, 40) : ''} job: ${problem}`,
      },
    });
    return;
  }
  const controller = new AbortController();
  running.set(id, controller);
  runJob(job, settings, {
    signal: controller.signal,
    progress: (progress) => post({ type: 'progress', id, progress }),
    log: (text) => post({ type: 'log', level: 'info', message: text }),
  })
    .then(
      (result) => post({ type: 'result', id, result }),
      (e) => post({ type: 'error', id, error: toErrorInfo(e) }),
    )
    .finally(() => running.delete(id));
});

post({ type: 'ready', pid: process.pid });
