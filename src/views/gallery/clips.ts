// Clips in the gallery (videos and animated GIF / WebP / PNG): when such an image arrives the
// host asks the worker what it is (clipInfo: duration, frames, rate) and tells the webview,
// whose frame picker then asks for previews of one frame (previews.ts, `time`). "Stylize clip"
// runs the ordinary stylize job on the whole clip (the video job: progress in frames, Cancel
// leaves no file), writing beside the input as Save does, then makes the result playable
// (clipPlayback): a small WebM in the extension's storage, played through a webview URI
// (VS Code's Electron plays VP8/VP9 but not H.264), the animated image itself, or frames.
// Where ffmpeg is missing the webview says so in one line and offers Set Up Video Support….
import fsp from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { cancelledError, codeOf, isMissingFfmpeg, messageOf } from '../../protocol/errors';
import type { ClipMessage, GalleryClip, GalleryPlayback, WebviewToHost } from '../../protocol/gallery';
import type { ClipPlayback, StylizeOptions } from '../../protocol/jobs';
import type { CommandContext } from '../../services/context';
import { userPathSetting } from '../../services/settings';
import { ownImage, type GallerySession, type UserJobs } from './gallerySession';
import type { ImageRegistry, RegisteredImage } from './imageRegistry';
import type { PathGuard } from './pathGuard';
import { resolveRequest } from './styleBlend';

type StylizeClipRequest = Extract<WebviewToHost, { type: 'stylizeClip' }>;
type PlaybackReport = Extract<WebviewToHost, { type: 'playback' }>;

/** The folder of the WebM previews, under the extension's storage (a webview may load from it). */
export function playbackDir(storageDir: string): string {
  return path.join(storageDir, 'gallery', 'playback');
}

/** WebM previews kept (older ones are deleted when a new one is made). */
const KEPT_PLAYBACKS = 4;

const MISSING_FFMPEG = 'Videos need ffmpeg, and none was found.';

export interface ClipDeps {
  readonly ctx: CommandContext;
  readonly images: ImageRegistry;
  readonly guard: PathGuard;
  readonly jobs: UserJobs;
  /** Where a Save of `img` writes (the output folder setting, else beside the input). */
  folderFor(img: RegisteredImage): string | undefined;
  /** A file the webview may name from now on (Copy Path, Open). */
  produced(file: string): void;
  reject(reason: string): void;
}

/** What the host says of an image it was asked about: a clip, or (no clip) a still image. */
function clipAnswer(token: string, clip: GalleryClip | undefined): ClipMessage {
  return clip ? { type: 'clip', imageToken: token, clip } : { type: 'clip', imageToken: token };
}

export class Clips {
  /** What each image is, once asked (undefined: a still image). */
  private readonly known = new Map<string, GalleryClip | undefined>();
  private readonly asking = new Map<string, Promise<ClipMessage | undefined>>();
  /** The clip job in flight per webview. */
  private readonly running = new Map<GallerySession, AbortController>();
  private readonly playbacks: string[] = [];
  /** Clips that could not be read for want of ffmpeg (asked again after Set Up Video Support…). */
  private readonly wantFfmpeg = new Set<string>();
  /** What the webviews' players said last (tests, diagnostics). */
  lastPlayback: PlaybackReport | undefined;

  constructor(private readonly deps: ClipDeps) {}

  /** The clip `token` names, when it is one. */
  clipOf(token: string): GalleryClip | undefined {
    return this.known.get(token);
  }

  forgetImage(token: string): void {
    this.known.delete(token);
  }

  private toolOptions(): Pick<StylizeOptions, 'ffmpegPath' | 'videoToolsDir'> {
    return { ffmpegPath: userPathSetting('ffmpegPath'), videoToolsDir: this.deps.ctx.storageDir };
  }

  /** Tells `s` whether the image `token` is a clip (asks the worker the first time). */
  async describe(s: GallerySession, token: string): Promise<void> {
    const img = this.deps.images.get(token);
    if (!img) return;
    const m = await this.ask(img);
    if (m && !s.disposed) s.post(m);
  }

  private ask(img: RegisteredImage): Promise<ClipMessage | undefined> {
    const token = img.info.token;
    if (this.known.has(token)) return Promise.resolve(clipAnswer(token, this.known.get(token)));
    // The registry marked the images whose name may be a clip; the webview awaits their answer.
    if (!img.info.clipPending) return Promise.resolve(undefined);
    let p = this.asking.get(token);
    if (!p) {
      p = this.deps.images
        .inputFileOf(img)
        .then((file) => this.deps.ctx.engine.request({ type: 'clipInfo', file, options: this.toolOptions() }))
        .then((info): ClipMessage => {
          const clip = info.kind === 'still' ? undefined : { ...info, kind: info.kind };
          this.known.set(token, clip);
          return clipAnswer(token, clip);
        })
        .catch((e: unknown): ClipMessage => {
          const message = messageOf(e);
          const missing = isMissingFfmpeg(message);
          if (missing) this.wantFfmpeg.add(token);
          this.deps.ctx.log.warn(`gallery: ${img.info.name} is not a clip the gallery can show: ${message}`);
          return {
            type: 'clip',
            imageToken: token,
            ...(missing
              ? { unavailable: MISSING_FFMPEG, setUpVideo: true }
              : { unavailable: `Cannot read ${img.info.name}: ${message}` }),
          };
        })
        .finally(() => this.asking.delete(token));
      this.asking.set(token, p);
    }
    return p;
  }

  /** ffmpeg is there now (Set Up Video Support… succeeded): the clips that wanted it are asked again. */
  retryMissing(s: GallerySession): void {
    const tokens = [...this.wantFfmpeg];
    this.wantFfmpeg.clear();
    for (const t of tokens) void this.describe(s, t);
  }

  /** Stylizes the whole clip, then sends the webview something it can play. */
  async stylize(s: GallerySession, m: StylizeClipRequest): Promise<void> {
    const { ctx, images } = this.deps;
    const r = resolveRequest(
      m,
      (t) => images.get(t),
      (id) => ctx.store.find(id),
    );
    const token = m.imageToken;
    if (!('img' in r)) {
      this.deps.reject(`stylizeClip: ${r.reason}`);
      s.post({ type: 'clipFailed', imageToken: token, message: r.message });
      return;
    }
    const { img, style, blend } = r;
    if (!this.known.get(token)) {
      this.deps.reject(`stylizeClip: ${img.info.name} is not a clip`);
      s.post({ type: 'clipFailed', imageToken: token, message: `${img.info.name} is not a video or an animation.` });
      return;
    }
    if (this.running.has(s)) {
      s.post({ type: 'clipFailed', imageToken: token, message: 'A clip is being stylized already.' });
      return;
    }
    const abort = new AbortController();
    this.running.set(s, abort);
    const status = ctx.status.begin(`Stylizing ${img.info.name}…`);
    let lastProgress = 0;
    try {
      await this.deps.jobs.run(async () => {
        const input = await images.inputFileOf(img);
        const tools = this.toolOptions();
        const result = await ctx.engine.request(
          {
            type: 'stylize',
            inputs: [input],
            style: style.id,
            options: {
              strength: m.strength,
              colorMode: m.colorMode,
              scale: m.scale,
              format: 'same',
              runtime: ctx.settings().stylizeRuntime,
              outDir: this.deps.folderFor(img),
              ...tools,
              ...blend.options,
            },
          },
          {
            signal: abort.signal,
            onProgress: (p) => {
              if (p.type !== 'stylize' || !p.frames) return;
              // At most 10 updates a second (small frames come faster), and always the last.
              const f = p.frames;
              const now = Date.now();
              if (f.done < f.total && now - lastProgress < 100) return;
              lastProgress = now;
              s.post({ type: 'clipProgress', imageToken: token, ...f });
              status.update(`${img.info.name}: frame ${f.done}/${f.total}`);
            },
          },
        );
        if (result.cancelled || abort.signal.aborted) throw cancelledError('stylizing the clip');
        if (result.failures.length || !result.outputs.length)
          throw new Error(result.failures[0]?.error.message ?? 'nothing was written');
        const output = result.outputs[0].output;
        this.deps.produced(output);
        await this.deps.guard.grant(output);
        const playback = await ctx.engine.request(
          { type: 'clipPlayback', file: output, targetDir: playbackDir(ctx.storageDir), options: tools },
          { signal: abort.signal },
        );
        const uri = vscode.Uri.file(output);
        const displayPath = vscode.workspace.getWorkspaceFolder(uri) ? vscode.workspace.asRelativePath(uri) : output;
        ctx.log.info(
          `gallery: stylized ${input} → ${output} (${blend.label}, strength ${m.strength}, colours ${m.colorMode}, scale ${m.scale}); playing it as ${playback.kind === 'webm' ? `WebM (${playback.encoder})` : playback.kind}`,
        );
        s.post({
          type: 'clipDone',
          imageToken: token,
          path: output,
          displayPath,
          playback: this.playable(s, playback),
        });
      });
    } catch (e) {
      if (codeOf(e) === 'cancelled' || abort.signal.aborted) {
        s.post({ type: 'clipCancelled', imageToken: token });
        return;
      }
      const message = messageOf(e);
      ctx.log.error(`gallery: stylizing ${img.info.name} with ${blend.label} failed: ${message}`);
      s.post({ type: 'clipFailed', imageToken: token, message, setUpVideo: isMissingFfmpeg(message) });
    } finally {
      status.end();
      if (this.running.get(s) === abort) this.running.delete(s);
    }
  }

  cancel(s: GallerySession): void {
    this.running.get(s)?.abort();
  }

  /** The webview's player loaded the result, or could not. */
  report(m: PlaybackReport): void {
    this.lastPlayback = m;
    const line = `gallery: the player ${m.state === 'playing' ? 'plays' : 'could not play'} the stylized clip${m.detail ? ` (${m.detail})` : ''}`;
    if (m.state === 'playing') this.deps.ctx.log.info(line);
    else this.deps.ctx.log.warn(line);
  }

  /** What the webview gets: a WebM as a URI of its own (the older previews are deleted). */
  private playable(s: GallerySession, p: ClipPlayback): GalleryPlayback {
    if (p.kind === 'image') return { kind: 'image', image: ownImage(p.image) };
    if (p.kind === 'frames') return { kind: 'frames', frames: p.frames.map(ownImage), fps: p.fps };
    this.playbacks.push(p.file);
    while (this.playbacks.length > KEPT_PLAYBACKS)
      void fsp.rm(this.playbacks.shift()!, { force: true }).catch(() => undefined);
    return { kind: 'video', src: s.webview.asWebviewUri(vscode.Uri.file(p.file)).toString(), encoder: p.encoder };
  }

  dispose(): void {
    for (const a of this.running.values()) a.abort();
    void fsp.rm(playbackDir(this.deps.ctx.storageDir), { recursive: true, force: true }).catch(() => undefined);
  }
}
