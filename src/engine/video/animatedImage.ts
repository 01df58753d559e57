// Animated GIF and WebP: every frame stylized in order like the frames of a video (steady by
// default), written in the input's format with its frame delays and loop count;
// transparency is kept as it was.
import { encodeAnimatedImage, readAnimatedImage } from '../../io/animated';
import { writeStylizedBytes } from '../../io/output';
import { cancelledError } from '../../protocol/errors';
import type { StylizeOptions } from '../../protocol/jobs';
import type { StylizeEngine } from '../stylize/stylizer';
import type { LoadedStyle } from '../styles';
import type { VideoJobContext } from './videoJob';
import { FrameStylizer } from './frameStylizer';

export interface AnimatedResult {
  readonly output: string;
  readonly frames: number;
  readonly delays: readonly number[];
  readonly loop: number;
}

export async function stylizeAnimatedImage(
  engine: StylizeEngine,
  style: LoadedStyle,
  input: string,
  options: StylizeOptions,
  ctx: VideoJobContext = {},
): Promise<AnimatedResult> {
  const anim = await readAnimatedImage(input, ctx.maxPixels);
  const { width, height, pages, rgba } = anim;
  const frames = new FrameStylizer(engine, style, options);
  const out = new Uint8Array(rgba.length);
  const t0 = Date.now();
  await frames.open(width, height);
  try {
    const n = width * height;
    for (let f = 0; f < pages; f++) {
      if (ctx.signal?.aborted) throw cancelledError('stylize');
      const src = rgba.subarray(f * n * 4, (f + 1) * n * 4);
      const rgb = new Uint8Array(n * 3);
      for (let p = 0; p < n; p++) rgb.set(src.subarray(p * 4, p * 4 + 3), p * 3);
      const styled = await frames.stylize({ width, height, data: rgb }, ctx.signal);
      const dst = out.subarray(f * n * 4, (f + 1) * n * 4);
      for (let p = 0; p < n; p++) {
        dst.set(styled.subarray(p * 3, p * 3 + 3), p * 4);
        dst[p * 4 + 3] = src[p * 4 + 3];
      }
      const fps = (f + 1) / Math.max((Date.now() - t0) / 1000, 1e-3);
      ctx.progress?.({
        type: 'stylize',
        done: ctx.index ?? 0,
        total: ctx.total ?? 1,
        file: input,
        frames: { done: f + 1, total: pages, fps, etaSeconds: (pages - f - 1) / fps },
      });
    }
  } finally {
    await frames.close();
  }
  if (ctx.signal?.aborted) throw cancelledError('stylize');
  const bytes = await encodeAnimatedImage({ ...anim, rgba: out }, { quality: options.quality });
  const output = await writeStylizedBytes(input, style.name, bytes, {
    outDir: options.outDir,
    format: anim.format,
    createDir: options.outDir !== undefined,
  });
  ctx.log?.(`${input} → ${output}: ${pages} frames (${engine.label})`);
  return { output, frames: pages, delays: anim.delays, loop: anim.loop };
}
