// Relays the training run (services/trainingMonitor.ts) to the gallery's webviews — its state
// as the live training view shows it, throttled, and each new preview image once per webview —
// and the training tab's Pause, Cancel and Resume back.
import * as vscode from 'vscode';
import type { TrainingView, WebviewToHost } from '../../protocol/gallery';
import type { CommandContext } from '../../services/context';
import { ownImage, type GallerySession } from './gallerySession';

const TRAINING_THROTTLE_MS = 250;

export class TrainingRelay implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private readonly sub: { dispose(): void };

  /** `runChanged`: the run is no longer running (started, finished, failed): the styles' badges change. */
  constructor(
    private readonly ctx: CommandContext,
    private readonly readySessions: () => GallerySession[],
    private readonly runChanged: () => void,
    /** Logs a refused request (bad input from the webview). */
    private readonly reject: (reason: string) => void,
  ) {
    this.sub = ctx.training.onDidChange(() => this.schedule());
  }

  /** Pause and Cancel stop the run (after its checkpoint is saved); Resume runs the command on a resumable style. */
  handle(m: Extract<WebviewToHost, { type: 'pauseTraining' | 'cancelTraining' | 'resumeTraining' }>): void {
    const { training, store, log } = this.ctx;
    if (m.type === 'resumeTraining') {
      const style = store.find(m.styleId);
      if (!style?.resumable) {
        this.reject(`resumeTraining: ${m.styleId.slice(0, 200)} is not a resumable style`);
        return;
      }
      void vscode.commands.executeCommand('fastStyleTransfer.resumeTraining', style.id);
      return;
    }
    if (!training.running) return;
    log.info(
      `gallery: ${m.type === 'pauseTraining' ? 'pause' : 'cancel'} training “${training.current?.name}” (the checkpoint is saved first)`,
    );
    training.requestCancel();
  }

  /** The run in progress (or the last one), as the webview shows it. */
  view(): TrainingView | undefined {
    const snap = this.ctx.training.current;
    if (!snap) return undefined;
    const style = this.ctx.store.find(snap.checkpoint);
    const running = snap.status === 'starting' || snap.status === 'running';
    return {
      name: snap.name,
      checkpoint: snap.checkpoint,
      status: snap.status,
      phase: snap.phase,
      iteration: snap.iteration,
      totalIterations: snap.totalIterations,
      epoch: snap.epoch,
      imagesPerSecond: snap.imagesPerSecond,
      etaSeconds: Number.isFinite(snap.etaSeconds) ? snap.etaSeconds : -1,
      losses: snap.losses,
      lastCheckpointIteration: snap.lastCheckpointIteration,
      previewIteration: snap.preview?.iteration,
      error: snap.error,
      startedAt: snap.startedAt,
      resumable: !running && style?.resumable === true,
    };
  }

  /** Sends the latest preview image unless this webview has it already. */
  postPreview(s: GallerySession): void {
    const p = this.ctx.training.current?.preview;
    if (!p || p.iteration === s.lastTrainingPreview) return;
    s.lastTrainingPreview = p.iteration;
    s.post({ type: 'trainingPreview', iteration: p.iteration, image: ownImage(p) });
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.sub.dispose();
  }

  /** Progress events can come many times a second on a GPU: forward at most four a second. */
  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const view = this.view();
      for (const s of this.readySessions()) {
        s.post({ type: 'training', training: view });
        this.postPreview(s);
      }
      // Card badges ("training…") and resumability change with the run's status.
      if (view && view.status !== 'running') this.runChanged();
    }, TRAINING_THROTTLE_MS);
  }
}
