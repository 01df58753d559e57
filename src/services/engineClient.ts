// The extension host's side of the engine worker (DESIGN §2): starts one long-lived worker
// thread on first use, sends jobs, routes progress, cancels by message, and turns a crashed
// worker into one clear error on the jobs it was running — the next job gets a new worker.
// No vscode import, so it is testable in plain Node against the real worker bundle.
import { Worker } from 'node:worker_threads';
import { StyleTransferError } from '../protocol/errors';
import { turnOffThirdPartyTelemetry } from '../protocol/telemetry';
import {
  type EngineSettings,
  type HostToWorker,
  type JobProgress,
  type JobRequest,
  type JobResults,
  type WorkerToHost,
} from '../protocol/jobs';
import { isWorkerToHost } from '../protocol/jobChecks';

interface Pending {
  readonly job: JobRequest;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  readonly onProgress?: (p: JobProgress) => void;
  readonly cleanup: () => void;
}

export interface RequestOptions {
  readonly onProgress?: (p: JobProgress) => void;
  readonly signal?: AbortSignal;
}

export interface EngineClientOptions {
  readonly workerPath: string;
  readonly settings: () => EngineSettings;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Called when a worker starts (true) or goes away (false). */
  readonly onWorkerState?: (running: boolean) => void;
}

export class EngineClient {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private disposed = false;

  constructor(private readonly opts: EngineClientOptions) {}

  /** Number of jobs in flight. */
  get busy(): number {
    return this.pending.size;
  }

  /** Thread id of the current worker (for tests and diagnostics). */
  get workerThreadId(): number | undefined {
    return this.worker?.threadId;
  }

  request<T extends JobRequest['type']>(
    job: JobRequest & { type: T },
    options: RequestOptions = {},
  ): Promise<JobResults[T]> {
    if (this.disposed)
      return Promise.reject(new StyleTransferError('cancelled', 'the style-transfer engine has been shut down'));
    if (options.signal?.aborted) return Promise.reject(new StyleTransferError('cancelled', `${job.type} cancelled`));
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<JobResults[T]>((resolve, reject) => {
      const onAbort = () => worker.postMessage({ type: 'cancel', id });
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        job,
        resolve: resolve as (v: unknown) => void,
        reject,
        onProgress: options.onProgress,
        cleanup: () => options.signal?.removeEventListener('abort', onAbort),
      });
      worker.postMessage({ type: 'run', id, job, settings: this.opts.settings() });
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    // In this (the real) environment: the worker's process.env is a copy ONNX Runtime never reads.
    turnOffThirdPartyTelemetry();
    const worker = new Worker(this.opts.workerPath, { stdout: false, stderr: false });
    this.worker = worker;
    this.opts.onWorkerState?.(true);
    worker.on('message', (m: unknown) => this.onMessage(m));
    worker.on('error', (e) => this.onCrash(worker, `the style-transfer engine crashed: ${e.message}`));
    worker.on('exit', (code) =>
      this.onCrash(worker, `the style-transfer engine stopped unexpectedly (exit code ${code})`),
    );
    return worker;
  }

  private onMessage(m: unknown): void {
    if (!isWorkerToHost(m)) {
      this.opts.log?.('warn', `engine sent a malformed message: ${JSON.stringify(m)?.slice(0, 200)}`);
      return;
    }
    const msg = m as WorkerToHost;
    switch (msg.type) {
      case 'ready':
        this.opts.log?.('info', `engine worker ready (thread ${this.worker?.threadId})`);
        return;
      case 'log':
        this.opts.log?.(msg.level, msg.message);
        return;
      case 'progress':
        this.pending.get(msg.id)?.onProgress?.(msg.progress);
        return;
      case 'result':
      case 'error': {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        p.cleanup();
        if (msg.type === 'result') p.resolve(msg.result);
        else p.reject(new StyleTransferError(msg.error.code, msg.error.message, msg.error.detail));
      }
    }
  }

  /** A dead worker fails every job it held, once; the next request starts a fresh one. */
  private onCrash(worker: Worker, message: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.opts.onWorkerState?.(false);
    if (this.disposed) return;
    this.opts.log?.('error', message);
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.cleanup();
      p.reject(
        new StyleTransferError(
          'internal',
          `${message}; the ${p.job.type} job was stopped. The next job starts a fresh engine.`,
        ),
      );
    }
  }

  /** Test hook and last resort: stops the worker as a crash would (its jobs fail). */
  async terminateWorker(): Promise<void> {
    if (this.worker) await stopWorker(this.worker);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.cleanup();
      p.reject(new StyleTransferError('cancelled', `${p.job.type} cancelled: the extension is shutting down`));
    }
    const w = this.worker;
    this.worker = undefined;
    if (w) await stopWorker(w);
  }
}

/** How long a worker may take to reach its next message (one training step or image) before it is terminated. */
const STOP_GRACE_MS = 15_000;

/**
 * Ends a worker between two native calls: it is asked to exit at its next message, and only
 * terminated when it does not within STOP_GRACE_MS. Terminating it during an ONNX Runtime run
 * aborts the extension host (the addon throws while the thread is torn down).
 */
async function stopWorker(w: Worker): Promise<void> {
  const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
  w.postMessage({ type: 'exit' } satisfies HostToWorker);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_GRACE_MS)));
  if ((await Promise.race([exited, late])) === 'late') await w.terminate();
  clearTimeout(timer);
}
