// Previews for the gallery: the worker's 'preview' job at full strength with the style's
// colours, once per (image, style, size, scale, blend); strength and colour preservation are
// composited in the webview (the same maths as src/model/color.ts), so those sliders never
// wait for the engine. The last results are cached (a rebuilt webview asks again).
import { isVideoPath } from '../../protocol/fileTypes';
import { PREVIEW_MAX_SIDE, type WebviewToHost } from '../../protocol/gallery';
import { codeOf, messageOf } from '../../protocol/errors';
import type { CommandContext } from '../../services/context';
import { userPathSetting } from '../../services/settings';
import { ownImage, type GallerySession, type PreviewResult, type UserJobs } from './gallerySession';
import type { ImageRegistry, RegisteredImage } from './imageRegistry';
import { resolveRequest, type ResolvedBlend } from './styleBlend';
import type { StyleSummary } from '../../protocol/styles';

const MAX_CACHED_PREVIEWS = 8;

type PreviewRequest = Extract<WebviewToHost, { type: 'preview' }>;

export interface PreviewDeps {
  readonly ctx: CommandContext;
  readonly images: ImageRegistry;
  readonly jobs: UserJobs;
  /** Logs a refused request (bad input from the webview). */
  reject(reason: string): void;
  /** A preview was made (the engine is free for card samples again). */
  done(): void;
}

export class Previews {
  private readonly cache = new Map<string, PreviewResult>();

  constructor(private readonly deps: PreviewDeps) {}

  /** Drops the cached previews of an image the registry let go. */
  forgetImage(token: string): void {
    for (const k of [...this.cache.keys()]) if (k.startsWith(`${token}|`)) this.cache.delete(k);
  }

  async preview(s: GallerySession, m: PreviewRequest): Promise<void> {
    const { ctx, images } = this.deps;
    const r = resolveRequest(
      m,
      (t) => images.get(t),
      (id) => ctx.store.find(id),
    );
    if (!('img' in r)) {
      this.deps.reject(`preview: ${r.reason}`);
      s.post({ type: 'previewFailed', requestId: m.requestId, message: r.message });
      return;
    }
    const { img, style, blend } = r;
    const scale = m.size === 'full' ? m.scale : 1;
    // A clip previews one frame: the one the frame picker shows (a video's first before it is known).
    const name = 'path' in img.source ? img.source.path : img.source.name;
    const time = m.time ?? (isVideoPath(name) ? 0 : undefined);
    const key = [m.imageToken, style.id, style.updatedAt ?? '', style.iteration, m.size, scale, blend.key, time].join(
      '|',
    );
    const cached = this.cache.get(key);
    if (cached) {
      s.post({ ...cached, requestId: m.requestId });
      return;
    }
    // The same request again (the webview was rebuilt, or asked twice) joins the job in flight;
    // a different one supersedes it.
    if (s.inflight?.key !== key) {
      s.inflight?.abort.abort();
      const abort = new AbortController();
      const result = this.run(img, style, blend, m, scale, time, abort.signal).finally(() => {
        if (s.inflight?.abort === abort) s.inflight = undefined;
      });
      s.inflight = { key, abort, result };
    }
    let result: PreviewResult | undefined;
    try {
      result = await s.inflight.result;
    } catch (e) {
      if (codeOf(e) === 'cancelled') return;
      ctx.log.error(`gallery: preview of ${img.info.name} with ${blend.label} failed: ${messageOf(e)}`);
      s.post({ type: 'previewFailed', requestId: m.requestId, message: messageOf(e) });
      return;
    }
    if (!result) return;
    this.cache.set(key, result);
    while (this.cache.size > MAX_CACHED_PREVIEWS) this.cache.delete(this.cache.keys().next().value as string);
    s.post({ ...result, requestId: m.requestId });
    this.deps.done();
  }

  private run(
    img: RegisteredImage,
    style: StyleSummary,
    blend: ResolvedBlend,
    m: PreviewRequest,
    scale: number,
    time: number | undefined,
    signal: AbortSignal,
  ): Promise<PreviewResult> {
    const { ctx, images } = this.deps;
    const t0 = Date.now();
    return this.deps.jobs.run(async () => {
      const r = await ctx.engine.request(
        {
          type: 'preview',
          // A clip's frame is read from a file (dropped bytes are written once into storage).
          image: time === undefined ? images.sourceOf(img) : { path: await images.inputFileOf(img) },
          style: style.id,
          maxSide: m.size === 'preview' ? PREVIEW_MAX_SIDE : 0,
          options: {
            strength: 1,
            colorMode: 'none',
            scale,
            runtime: ctx.settings().stylizeRuntime,
            ...blend.options,
            ...(time === undefined ? {} : { ffmpegPath: userPathSetting('ffmpegPath'), videoToolsDir: ctx.storageDir }),
          },
          ...(time === undefined ? {} : { frameAt: time }),
        },
        { signal },
      );
      ctx.status.setRuntime(r.runtime);
      return {
        type: 'preview',
        requestId: m.requestId,
        imageToken: m.imageToken,
        styleId: style.id,
        size: m.size,
        scale,
        ...(time === undefined ? {} : { time }),
        original: ownImage(r.original),
        stylized: ownImage(r.stylized),
        sourceWidth: r.sourceWidth,
        sourceHeight: r.sourceHeight,
        runtime: r.runtime,
        elapsedMs: Date.now() - t0,
      };
    });
  }
}
