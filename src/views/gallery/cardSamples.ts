// The images on the gallery's style cards: the style image's thumbnail and the sample photo
// stylized with the style. Made one at a time in the background, and only while no preview or
// save of the user runs (they share the one worker); kept in memory per style version, the
// stylized samples also on disk, so a rebuilt webview or a new session gets them at once.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { EncodedImage } from '../../protocol/jobs';
import { messageOf } from '../../protocol/errors';
import type { StyleSummary } from '../../protocol/styles';
import type { CommandContext } from '../../services/context';
import { ownImage, type GallerySession, type UserJobs } from './gallerySession';
import { usableStyle } from './styleBlend';

const SAMPLE_SIDE = 256;
const MAX_THUMBNAIL_BYTES = 4 * 1024 * 1024;

type CardImages = { thumbnail?: EncodedImage; sample?: EncodedImage };

export interface CardSampleDeps {
  readonly ctx: CommandContext;
  readonly jobs: UserJobs;
  /** The bundled photo every style is shown on. */
  readonly samplePhoto: string;
  /** The webviews to send card images to (those that said 'ready'). */
  readySessions(): GallerySession[];
}

/** A style's identity and version: its card images change when it is trained further. */
const styleKey = (s: StyleSummary) => `${s.id}|${s.updatedAt ?? ''}|${s.iteration}`;

export class CardSamples {
  private readonly known = new Map<string, CardImages>();
  private queue: string[] = [];
  private sampling = false;

  constructor(private readonly deps: CardSampleDeps) {}

  /** Sends the card images known so far and queues the missing ones. */
  send(session: GallerySession): void {
    for (const style of this.deps.ctx.store.all) {
      if (style.error) continue;
      const known = this.known.get(styleKey(style));
      if (known && (known.thumbnail || known.sample))
        session.post({ type: 'styleImages', styleId: style.id, thumbnail: known.thumbnail, sample: known.sample });
      if (!known && !this.queue.includes(style.id)) this.queue.push(style.id);
    }
    this.kick();
  }

  /** Starts making the queued card images unless that is under way. */
  kick(): void {
    if (this.sampling || this.queue.length === 0) return;
    this.sampling = true;
    void this.drain().finally(() => {
      this.sampling = false;
    });
  }

  /** One card image at a time, and only while no preview or save of the user is running. */
  private async drain(): Promise<void> {
    const { ctx } = this.deps;
    while (this.queue.length && this.deps.readySessions().length > 0) {
      if (this.deps.jobs.busy) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const id = this.queue.shift()!;
      const style = usableStyle((x) => ctx.store.find(x), id);
      if (!style || (ctx.training.running && ctx.training.current?.checkpoint === id)) continue;
      const key = styleKey(style);
      if (this.known.has(key)) continue;
      const entry: CardImages = {};
      this.known.set(key, entry);
      if (style.thumbnail) {
        try {
          const st = await fsp.stat(style.thumbnail);
          if (st.isFile() && st.size <= MAX_THUMBNAIL_BYTES)
            entry.thumbnail = {
              bytes: new Uint8Array(await fsp.readFile(style.thumbnail)),
              mime: 'image/jpeg',
              width: 0,
              height: 0,
            };
        } catch {
          /* no thumbnail after all */
        }
      }
      entry.sample = await this.sampleFor(style);
      for (const s of this.deps.readySessions())
        s.post({ type: 'styleImages', styleId: style.id, thumbnail: entry.thumbnail, sample: entry.sample });
    }
  }

  /** The sample photo stylized with `style`, cached on disk by the style's identity and version. */
  private async sampleFor(style: StyleSummary): Promise<EncodedImage | undefined> {
    const { ctx, samplePhoto } = this.deps;
    const cacheDir = path.join(ctx.storageDir, 'cache', 'gallery-samples');
    const file = path.join(
      cacheDir,
      `${crypto.createHash('sha256').update(styleKey(style)).digest('hex').slice(0, 32)}.png`,
    );
    try {
      return { bytes: new Uint8Array(await fsp.readFile(file)), mime: 'image/png', width: 0, height: 0 };
    } catch {
      /* not cached yet */
    }
    if (!fs.existsSync(samplePhoto)) return undefined;
    try {
      const r = await ctx.engine.request({
        type: 'preview',
        image: { path: samplePhoto },
        style: style.id,
        maxSide: SAMPLE_SIDE,
        options: { strength: 1, colorMode: 'none', runtime: ctx.settings().stylizeRuntime },
      });
      await fsp.mkdir(cacheDir, { recursive: true });
      await fsp.writeFile(file, r.stylized.bytes).catch(() => undefined);
      return ownImage(r.stylized);
    } catch (e) {
      ctx.log.warn(`gallery: no sample image for ${style.name}: ${messageOf(e)}`);
      return undefined;
    }
  }
}
