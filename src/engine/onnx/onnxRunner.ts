// Stylizing with ONNX Runtime (onnxruntime-node): the fast path of DESIGN §5. The runtime is
// loaded lazily so a missing or broken native binary becomes one StyleTransferError('backend')
// the caller can answer by falling back to tfjs. Execution providers are tried in order (CUDA,
// WebGPU, CPU by default); a GPU provider that cannot start is remembered and skipped quietly
// for the rest of the process.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';
import { MAX_BLOB_BYTES, readFileInFolder } from '../../io/fileAccess';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from '../../model/onnx/onnxExport';
import { StyleTransferError } from '../../protocol/errors';
import { isThirdPartyTelemetryOff, turnOffThirdPartyTelemetry } from '../../protocol/telemetry';
import { noHardwareVulkanReason } from './vulkanDrivers';

export type OrtModule = typeof Ort;
export type OnnxProvider = 'cuda' | 'webgpu' | 'cpu';
export const DEFAULT_PROVIDERS: readonly OnnxProvider[] = Object.freeze(['cuda', 'webgpu', 'cpu']);

export interface OnnxSessionOptions {
  /** Execution providers to try, in order; the first that starts runs the session. */
  providers?: readonly OnnxProvider[];
  /** intraOpNumThreads; ONNX Runtime's default (0) uses one thread per physical core. */
  threads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  executionMode?: 'sequential' | 'parallel';
  enableCpuMemArena?: boolean;
  enableMemPattern?: boolean;
  /**
   * Runs the graph once on a 16×16 image when the session is created (plain graphs, CPU with
   * the memory arena): the arena then grows in smaller steps on the first real image. Measured
   * on the fast udnie graph: a first 1024² image took 2.9 s instead of 3.9 s (warm: 2.0 s),
   * 76 thousand page faults instead of 145 thousand, and the process peaked at 0.45 GB instead
   * of 0.72 GB; at 512² 1.2 s / 0.21 GB instead of 1.5 s / 0.28 GB; 1448² tiles unchanged.
   */
  warmUp?: boolean;
  /**
   * For a model given by path: its SHA-256 as the cache verified it. The file is then read once
   * more (regular file, no links out of its folder), checked against this, and the session made
   * from those bytes, so a file swapped between the check and the load never runs.
   */
  expectSha256?: string;
  /** Session configuration entries (ONNX Runtime's `extra`), e.g. { optimization: { disable_specified_optimizers: '…' } }. */
  sessionConfig?: Readonly<Record<string, unknown>>;
  /** Loads the onnxruntime-node module; tests inject failures here. */
  loadRuntime?: () => unknown;
}

/**
 * Session settings the engine's stylizers use: ONNX Runtime's CPU memory arena, without memory
 * patterns. A memory pattern is only planned from a first run that allocates every tensor on
 * its own; without the arena each of those allocations is fresh pages from the kernel (a 1024²
 * first run took 1.0 million page faults and 9 s of system time, 12× a later run), and with
 * the arena the pattern's one large block comes on top of the arena (1.5 GB after three 1024²
 * runs). Arena without patterns (and the warm-up below): a first 1024² run takes 76 thousand
 * faults, filling the arena once, then a few thousand per run; a whole 1024² `fst stylize` uses
 * 5.1 CPU-s instead of 21.6 and peaks at 0.47 GB (was 0.51). The arena's memory goes back when
 * the session is released, which the session cache does after SESSION_IDLE_RELEASE_MS idle.
 */
export const ENGINE_SESSION_OPTIONS: Readonly<
  Pick<OnnxSessionOptions, 'enableCpuMemArena' | 'enableMemPattern' | 'warmUp'>
> = Object.freeze({ enableCpuMemArena: true, enableMemPattern: false, warmUp: true });

export interface ProviderAttempt {
  readonly provider: OnnxProvider;
  /** Why it did not run the session. */
  readonly reason: string;
}

export interface OnnxStyleSession {
  /** The provider that runs this session. */
  readonly provider: OnnxProvider;
  /** Providers tried before it, with the reason each was passed over. */
  readonly skipped: readonly ProviderAttempt[];
  readonly session: Ort.InferenceSession;
  readonly runtime: OrtModule;
  /** Frees the native session; waits for runs in progress. Idempotent. */
  release(): Promise<void>;
  /** Internal: run bookkeeping so that release never frees a session under a run. */
  readonly _use: <T>(f: () => Promise<T>) => Promise<T>;
}

let defaultRuntime: OrtModule | undefined;
let defaultRuntimeError: StyleTransferError | undefined;
/** GPU providers that failed to start in this process, with the reason. */
const failedProviders = new Map<OnnxProvider, string>();

/** The first line of an error, without ONNX Runtime's source location and failed-check prefix. */
export function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  let line =
    m
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? m;
  line = line.replace(/^\/onnxruntime_src\/\S+\s+/, '');
  const check = line.indexOf(' was false. ');
  return check >= 0 ? line.slice(check + ' was false. '.length) : line;
}

/**
 * The onnxruntime-node module, loaded on first use. Throws StyleTransferError('backend') when
 * the package or its native library cannot load; the default loader's failure is remembered.
 */
export function loadOnnxRuntime(loader?: () => unknown): OrtModule {
  if (!loader && defaultRuntime) return defaultRuntime;
  if (!loader && defaultRuntimeError) throw defaultRuntimeError;
  // ONNX Runtime's telemetry (protocol/telemetry.ts): a main thread can still turn it off; a
  // worker thread cannot (its process.env is a copy), so there it must already be off.
  if (isMainThread) turnOffThirdPartyTelemetry();
  else if (!isThirdPartyTelemetryOff()) {
    const err = new StyleTransferError(
      'backend',
      'ONNX Runtime is not started: its telemetry would be on (the thread that started this worker did not set ORT_DISABLE_TELEMETRY=1)',
    );
    if (!loader) defaultRuntimeError = err;
    throw err;
  }
  try {
    // A plain require: the package is external to the bundles and may be absent or broken.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = (loader ? loader() : require('onnxruntime-node')) as OrtModule;
    if (!ort || typeof ort.InferenceSession?.create !== 'function' || typeof ort.Tensor !== 'function') {
      throw new Error('the module does not export InferenceSession and Tensor');
    }
    // GPU providers that fail log at error level before their exception; the exception is enough.
    ort.env.logLevel = 'fatal';
    if (!loader) defaultRuntime = ort;
    return ort;
  } catch (e) {
    const err = new StyleTransferError('backend', `ONNX Runtime (onnxruntime-node) cannot be loaded: ${firstLine(e)}`);
    if (!loader) defaultRuntimeError = err;
    throw err;
  }
}

/** Folder of onnxruntime-node's native libraries, where the CUDA provider libraries must be. */
function nativeLibraryDir(): string | undefined {
  try {
    const entry = require.resolve('onnxruntime-node');
    return path.join(path.dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/** A reason to skip `provider` without trying it, or undefined to try it. */
export function providerSkipReason(ort: OrtModule, provider: OnnxProvider): string | undefined {
  const failed = failedProviders.get(provider);
  if (failed) return failed;
  if (provider === 'cpu') return undefined;
  const list = (ort as { listSupportedBackends?: () => { name: string }[] }).listSupportedBackends?.();
  if (list && !list.some((b) => b.name === provider))
    return `${provider} is not supported by this onnxruntime-node build`;
  if (provider === 'cuda') {
    if (process.platform === 'darwin') return 'CUDA is not available on macOS';
    // onnxruntime-node loads the CUDA provider from libraries its installer downloads; without
    // them the attempt fails anyway (and logs), so check the files first.
    const dir = nativeLibraryDir();
    const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    if (dir && fs.existsSync(dir) && !fs.existsSync(path.join(dir, lib))) {
      return `the CUDA provider library ${lib} is not installed (onnxruntime-node's install step downloads it)`;
    }
  }
  if (provider === 'webgpu' && process.platform === 'linux' && !hasVulkanLoader()) {
    // Dawn needs the Vulkan loader on Linux; without it the attempt only prints a warning to stderr.
    return 'no Vulkan loader (libvulkan.so.1) is installed, which WebGPU needs on Linux';
  }
  if (provider === 'webgpu' && process.platform === 'linux') {
    // Never a software adapter, and no Dawn start (stderr noise, start-up time) without a GPU.
    const why = noHardwareVulkanReason();
    if (why) return `webgpu: ${why}`;
  }
  return undefined;
}

function hasVulkanLoader(): boolean {
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/lib/x86_64-linux-gnu',
    '/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/usr/local/lib',
  ];
  return dirs.some((d) => fs.existsSync(path.join(d, 'libvulkan.so.1')));
}

function sessionOptions(provider: OnnxProvider, opts: OnnxSessionOptions): Ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    ...(opts.threads !== undefined ? { intraOpNumThreads: opts.threads } : {}),
    ...(opts.graphOptimizationLevel ? { graphOptimizationLevel: opts.graphOptimizationLevel } : {}),
    ...(opts.executionMode ? { executionMode: opts.executionMode } : {}),
    ...(opts.enableCpuMemArena !== undefined ? { enableCpuMemArena: opts.enableCpuMemArena } : {}),
    ...(opts.enableMemPattern !== undefined ? { enableMemPattern: opts.enableMemPattern } : {}),
    ...(opts.sessionConfig ? { extra: opts.sessionConfig as Record<string, unknown> } : {}),
    logSeverityLevel: 3,
  };
}

/**
 * Creates an inference session for an exported transform network (bytes or a .onnx path),
 * trying `providers` in order. Errors: 'backend' (ONNX Runtime missing, or no listed provider
 * could start), 'not-found' (no such file), 'bad-checkpoint' (the CPU provider rejects the
 * model: corrupt or not a style-transfer network), 'bad-input' (bad options).
 */
export async function createOnnxSession(
  model: Uint8Array | string,
  opts: OnnxSessionOptions = {},
): Promise<OnnxStyleSession> {
  const providers = opts.providers ?? DEFAULT_PROVIDERS;
  if (providers.length === 0) throw new StyleTransferError('bad-input', 'no ONNX Runtime execution provider given');
  for (const p of providers) {
    if (!DEFAULT_PROVIDERS.includes(p))
      throw new StyleTransferError(
        'bad-input',
        `unknown ONNX Runtime execution provider "${p}" (use ${DEFAULT_PROVIDERS.join(', ')})`,
      );
  }
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 0)) {
    throw new StyleTransferError('bad-input', `ONNX Runtime threads must be a whole number ≥ 0, got ${opts.threads}`);
  }
  const where = typeof model === 'string' ? model : 'ONNX model';
  if (typeof model === 'string' && !fs.existsSync(model))
    throw new StyleTransferError('not-found', `ONNX model not found: ${model}`);
  if (typeof model !== 'string' && model.length === 0)
    throw new StyleTransferError('bad-checkpoint', `${where} is empty`);
  if (typeof model === 'string' && opts.expectSha256) model = await readVerifiedModel(model, opts.expectSha256);
  const ort = loadOnnxRuntime(opts.loadRuntime);

  const skipped: ProviderAttempt[] = [];
  let cpuError: string | undefined;
  for (const provider of providers) {
    const reason = providerSkipReason(ort, provider);
    if (reason) {
      skipped.push({ provider, reason });
      continue;
    }
    let session: Ort.InferenceSession;
    try {
      session =
        typeof model === 'string'
          ? await ort.InferenceSession.create(model, sessionOptions(provider, opts))
          : await ort.InferenceSession.create(model, sessionOptions(provider, opts));
    } catch (e) {
      const why = firstLine(e);
      if (provider === 'cpu') cpuError = why;
      else failedProviders.set(provider, `${provider} failed to start: ${why}`);
      skipped.push({ provider, reason: provider === 'cpu' ? why : failedProviders.get(provider)! });
      continue;
    }
    if (!session.inputNames.includes(ONNX_INPUT_NAME) || !session.outputNames.includes(ONNX_OUTPUT_NAME)) {
      await session.release();
      throw new StyleTransferError(
        'bad-checkpoint',
        `${where} is not a style-transfer network: it has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}], expected "${ONNX_INPUT_NAME}" and "${ONNX_OUTPUT_NAME}"`,
      );
    }
    if (opts.warmUp && provider === 'cpu' && opts.enableCpuMemArena !== false && session.inputNames.length === 1)
      await warmUp(ort, session);
    return wrapSession(ort, session, provider, skipped);
  }
  if (cpuError !== undefined) {
    // The CPU provider runs every standard op, so its refusal means the model itself is bad.
    throw new StyleTransferError('bad-checkpoint', `${where} cannot be loaded by ONNX Runtime: ${cpuError}`);
  }
  throw new StyleTransferError(
    'backend',
    `no ONNX Runtime execution provider could start: ${skipped.map((s) => `${s.provider}: ${s.reason}`).join('; ')}`,
  );
}

/** The bytes of the graph at `file` when they are the ones the cache verified; else one 'bad-checkpoint' error. */
export async function readVerifiedModel(file: string, sha256: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFileInFolder(path.dirname(file), path.basename(file), MAX_BLOB_BYTES);
  } catch (e) {
    throw new StyleTransferError('bad-checkpoint', `${file} cannot be read as it was verified: ${firstLine(e)}`);
  }
  if (crypto.createHash('sha256').update(bytes).digest('hex') !== sha256) {
    throw new StyleTransferError('bad-checkpoint', `${file} changed after it was verified; not running it`);
  }
  return bytes;
}

/** One run on a small image (see OnnxSessionOptions.warmUp); a failure here is left to the first real run to report. */
async function warmUp(ort: OrtModule, session: Ort.InferenceSession): Promise<void> {
  const n = 16;
  const input = new ort.Tensor('float32', new Float32Array(3 * n * n).fill(128), [1, 3, n, n]);
  try {
    const out = await session.run({ [ONNX_INPUT_NAME]: input });
    for (const t of Object.values(out)) t.dispose();
  } catch {
    // the real run reports what is wrong
  } finally {
    input.dispose();
  }
}

const SESSION_RELEASED = 'the ONNX Runtime session was released';

/** True for the error of a session used after the cache released it (the caller may open it again). */
export function isSessionReleased(e: unknown): boolean {
  return e instanceof StyleTransferError && e.code === 'backend' && e.message === SESSION_RELEASED;
}

function wrapSession(
  ort: OrtModule,
  session: Ort.InferenceSession,
  provider: OnnxProvider,
  skipped: ProviderAttempt[],
): OnnxStyleSession {
  let running = 0;
  let wake: (() => void) | undefined;
  let releasing: Promise<void> | undefined;
  let closed = false;
  const use = async <T>(f: () => Promise<T>): Promise<T> => {
    if (closed) throw new StyleTransferError('backend', SESSION_RELEASED);
    running++;
    try {
      return await f();
    } finally {
      running--;
      if (running === 0) wake?.();
      touchSessionCache(); // the idle countdown starts when the last run ends
    }
  };
  // A release (the cache evicting this session for another style) waits for the runs in
  // progress, and for runs that start meanwhile: a holder of the session never loses it mid-use.
  // It starts a macrotask later, so a caller that has just been handed the session from the
  // cache gets to start its run first.
  const release = (): Promise<void> => {
    releasing ??= (async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (running > 0)
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      closed = true;
      await session.release();
    })();
    return releasing;
  };
  return { provider, skipped, session, runtime: ort, release, _use: use };
}

// ---- Sessions reused across images and jobs ----

interface CachedSession {
  key: string;
  session: Promise<OnnxStyleSession>;
}
const sessionCache: CachedSession[] = [];
/** A few sessions at most: each holds the weights and, on CPU, a memory arena sized by the largest image. */
export const MAX_CACHED_SESSIONS = 2;
/**
 * Cached sessions are released after this long without use, so that an idle worker gives the
 * memory arenas back (re-opening one costs about half a second, a small part of a 1024² image).
 */
export const SESSION_IDLE_RELEASE_MS = 60_000;
let idleReleaseMs = SESSION_IDLE_RELEASE_MS;
let idleTimer: NodeJS.Timeout | undefined;

/** Changes the idle time after which cached sessions are released (tests). */
export function setSessionIdleRelease(ms: number): void {
  idleReleaseMs = ms;
}

/** (Re)starts the idle countdown; the timer never keeps a process alive. */
function touchSessionCache(): void {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    idleTimer = undefined;
    void releaseOnnxSessions();
  }, idleReleaseMs);
  idleTimer.unref();
}

const loaderIds = new WeakMap<() => unknown, number>();
let nextLoaderId = 1;

function cacheKey(modelPath: string, opts: OnnxSessionOptions): string {
  const st = fs.statSync(modelPath);
  const { loadRuntime, ...rest } = opts;
  let loader = 0;
  if (loadRuntime) {
    if (!loaderIds.has(loadRuntime)) loaderIds.set(loadRuntime, nextLoaderId++);
    loader = loaderIds.get(loadRuntime)!;
  }
  return JSON.stringify([path.resolve(modelPath), st.mtimeMs, st.size, loader, rest]);
}

/**
 * A session for the .onnx file at `modelPath`, shared with earlier callers while the file is
 * unchanged (same path, mtime and size) and the options are the same. Release with
 * releaseOnnxSessions (or let the cache evict it); do not release it yourself.
 */
export async function getOnnxSession(modelPath: string, opts: OnnxSessionOptions = {}): Promise<OnnxStyleSession> {
  if (!fs.existsSync(modelPath)) throw new StyleTransferError('not-found', `ONNX model not found: ${modelPath}`);
  const key = cacheKey(modelPath, opts);
  touchSessionCache();
  const hit = sessionCache.findIndex((c) => c.key === key);
  if (hit >= 0) {
    const [entry] = sessionCache.splice(hit, 1);
    sessionCache.unshift(entry); // most recently used first
    return entry.session;
  }
  const session = createOnnxSession(modelPath, opts);
  const entry = { key, session };
  sessionCache.unshift(entry);
  session.catch(() => {
    // a failed creation must not stay cached
    const i = sessionCache.indexOf(entry);
    if (i >= 0) sessionCache.splice(i, 1);
  });
  while (sessionCache.length > MAX_CACHED_SESSIONS) {
    const old = sessionCache.pop()!;
    old.session.then(
      (s) => s.release(),
      () => undefined,
    );
  }
  return session;
}

/** Releases cached sessions: those of `modelPath` only, or all of them. */
export async function releaseOnnxSessions(modelPath?: string): Promise<void> {
  const prefix = modelPath === undefined ? undefined : JSON.stringify([path.resolve(modelPath)]).slice(0, -1) + ',';
  const drop = sessionCache.filter((c) => prefix === undefined || c.key.startsWith(prefix));
  for (const c of drop) sessionCache.splice(sessionCache.indexOf(c), 1);
  await Promise.all(
    drop.map((c) =>
      c.session.then(
        (s) => s.release(),
        () => undefined,
      ),
    ),
  );
}
