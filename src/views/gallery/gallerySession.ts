// One webview (the panel or the sidebar view) talking to the gallery controller, and what the
// controller keeps per webview: whether it has said 'ready', its preview job in flight, the
// last training preview it was sent.
import * as vscode from 'vscode';
import type { GalleryLayout, HostToWebview } from '../../protocol/gallery';
import type { EncodedImage } from '../../protocol/jobs';

export type PreviewResult = Extract<HostToWebview, { type: 'preview' }>;

export interface SessionHandlers {
  /** A message arrived from this webview (not yet validated). */
  receive(raw: unknown, from: GallerySession): void;
  /** A message is being posted to this webview (tests observe the protocol through it). */
  posted(m: HostToWebview, to: GallerySession): void;
}

export class GallerySession implements vscode.Disposable {
  ready = false;
  /** The preview job in flight for this webview (one at a time: a different request supersedes it). */
  inflight:
    | { readonly key: string; readonly abort: AbortController; readonly result: Promise<PreviewResult | undefined> }
    | undefined;
  lastTrainingPreview = -1;
  /** Reloads the webview when it does not load (loadWatchdog.ts). */
  loadWatch: { stop(): void; readonly reloads: number } | undefined;
  disposed = false;
  private readonly subs: vscode.Disposable[] = [];

  constructor(
    readonly webview: vscode.Webview,
    readonly layout: GalleryLayout,
    private readonly handlers: SessionHandlers,
  ) {
    this.subs.push(webview.onDidReceiveMessage((m: unknown) => handlers.receive(m, this)));
  }

  post(message: HostToWebview): void {
    this.handlers.posted(message, this);
    void Promise.resolve(this.webview.postMessage(message)).then(undefined, () => undefined);
  }

  dispose(): void {
    this.disposed = true;
    this.loadWatch?.stop();
    this.inflight?.abort.abort();
    for (const s of this.subs) s.dispose();
  }
}

/** A copy that owns exactly its bytes (a Buffer may be a view into a larger pool). */
export function ownBytes(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice();
}

export function ownImage(e: EncodedImage): EncodedImage {
  return { ...e, bytes: ownBytes(e.bytes) };
}

/** Counts the user's own preview and save jobs: card samples wait while any runs. */
export class UserJobs {
  private count = 0;

  get busy(): boolean {
    return this.count > 0;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    this.count++;
    try {
      return await job();
    } finally {
      this.count--;
    }
  }
}
