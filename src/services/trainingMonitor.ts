// The state of the training run in progress (or the last one), kept in the host so a view
// opened or reopened mid-training shows everything so far: losses, the latest preview, ETA.
import type { EncodedImage, JobProgress } from '../protocol/jobs';
import type { TrainingView } from '../protocol/gallery';

/** What the live training view shows (protocol/gallery.ts), plus the latest preview's bytes. */
export interface TrainingSnapshot extends Omit<TrainingView, 'resumable' | 'previewIteration'> {
  readonly preview?: EncodedImage & { iteration: number };
}

const MAX_POINTS = 1000;

export class TrainingMonitor {
  private snap: TrainingSnapshot | undefined;
  private readonly listeners = new Set<(s: TrainingSnapshot) => void>();
  private cancel: (() => void) | undefined;

  get current(): TrainingSnapshot | undefined {
    return this.snap;
  }

  get running(): boolean {
    return this.snap?.status === 'starting' || this.snap?.status === 'running';
  }

  onDidChange(listener: (s: TrainingSnapshot) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  start(name: string, checkpoint: string, cancel: () => void): void {
    this.cancel = cancel;
    this.set({
      name,
      checkpoint,
      status: 'starting',
      iteration: 0,
      totalIterations: 0,
      epoch: 0,
      imagesPerSecond: 0,
      etaSeconds: NaN,
      losses: [],
      startedAt: Date.now(),
    });
  }

  /** Asks the running job to stop (it saves a checkpoint first). */
  requestCancel(): void {
    this.cancel?.();
  }

  update(p: JobProgress): void {
    const s = this.snap;
    if (!s) return;
    switch (p.type) {
      case 'phase':
        this.set({ ...s, phase: p.message });
        return;
      case 'train': {
        let losses = [...s.losses, { iteration: p.iteration, ...p.losses }];
        if (losses.length > MAX_POINTS) losses = losses.filter((_, i) => i % 2 === 0 || i === losses.length - 1);
        this.set({
          ...s,
          status: 'running',
          phase: undefined,
          iteration: p.iteration,
          totalIterations: p.totalIterations,
          epoch: p.epoch,
          imagesPerSecond: p.imagesPerSecond,
          etaSeconds: p.etaSeconds,
          losses,
        });
        return;
      }
      case 'trainPreview':
        this.set({ ...s, preview: { ...p.image, iteration: p.iteration } });
        return;
      case 'checkpoint':
        this.set({ ...s, lastCheckpointIteration: p.iteration });
        return;
      default:
    }
  }

  finish(status: 'done' | 'cancelled' | 'failed', error?: string): void {
    if (!this.snap) return;
    this.cancel = undefined;
    this.set({ ...this.snap, status, error, phase: undefined, etaSeconds: 0 });
  }

  private set(s: TrainingSnapshot): void {
    this.snap = s;
    for (const l of this.listeners) l(s);
  }
}
