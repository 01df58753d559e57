// What the two long-running commands (`fst train`, `fst optimize`) share: the Ctrl+C / SIGTERM
// epilogue, the preview folder, the engine settings and how a duration is printed.
import path from 'node:path';
import { DEFAULT_MAX_INPUT_PIXELS, type EngineSettings, type TrainingBackend } from '../protocol/jobs';
import { defaultUserCacheDir } from '../io/privateDir';
import { stopOnSignals } from './interrupt';
import { warn } from './options';
import { PreviewWriter } from './previews';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

/** The engine settings of a CLI training job: a private cache of the user's, no extra modules. */
export function longJobSettings(trainingBackend: TrainingBackend): EngineSettings {
  return {
    trainingBackend,
    stylizeRuntime: 'auto',
    threads: 0,
    cacheDir: defaultUserCacheDir(),
    extraModuleRoots: [],
    maxInputPixels: DEFAULT_MAX_INPUT_PIXELS,
  };
}

export interface LongJob {
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** The writer of --preview-dir, when given (prepared before the job runs). */
  readonly previews: PreviewWriter | undefined;
  /** The exit code of a stopped job (128 + the signal's number). */
  stoppedExitCode(): number;
}

/**
 * Runs `body` with signals caught: the first prints `fst <command>: <SIG>: <stopping> (… again to
 * abort)…` and aborts the job, a second exits; previews are flushed and the handlers removed at the end.
 */
export async function runLongJob(
  command: string,
  stopping: string,
  previewDir: string | undefined,
  body: (job: LongJob) => Promise<number>,
): Promise<number> {
  const controller = new AbortController();
  const interrupt = stopOnSignals(
    controller,
    (sig) => `fst ${command}: ${sig}: ${stopping} (${sig === 'SIGINT' ? 'Ctrl+C' : 'the signal'} again to abort)…`,
    warn,
  );
  const previews = previewDir
    ? new PreviewWriter(path.resolve(previewDir), (line) => warn(`fst ${command}: ${line}`))
    : undefined;
  try {
    await previews?.prepare();
    return await body({ signal: controller.signal, previews, stoppedExitCode: () => interrupt.exitCode });
  } finally {
    await previews?.flush();
    interrupt.dispose();
  }
}
