// The "stylize files" job: expand folders, then for each image decode → stylize (RGB) →
// post-process (colours, strength) → put the alpha back → write under a fresh name. One
// image failing does not stop the others; each failure is reported with its own message.
import fs from 'node:fs/promises';
import path from 'node:path';
import { postProcess } from '../../model/color';
import type { FloatImage } from '../../model/pixels';
import {
  DEFAULT_MAX_PIXELS,
  readImage8,
  resizeImage,
  resizeImage8,
  rgbaToFloat,
  type DecodedImage,
  type DecodedImage8,
} from '../../io/image';
import { MEDIA_EXTENSIONS, isVideoFile, outputFormatFor, type ImageFormat } from '../../io/formats';
import { isAnimatedImage } from '../../io/animated';
import { isApngFile } from '../../io/apng';
import { sanitizeStyleName, writeStylizedImage } from '../../io/output';
import { StyleTransferError, cancelledError, toErrorInfo } from '../../protocol/errors';
import type { StylizeOptions, StylizeResult, JobProgress } from '../../protocol/jobs';
import type { StylizeEngine } from './stylizer';
import { loadStyle, type LoadedStyle } from '../styles';
import { withBlend } from './blend';
import { shouldTile, stylizeTiled } from './tiledStylize';
import { stylizeAnimatedImage } from '../video/animatedImage';
import { stylizeVideoFile } from '../video/videoJob';

export interface JobContext {
  readonly signal?: AbortSignal;
  readonly progress?: (p: JobProgress) => void;
  readonly log?: (message: string) => void;
}

export function throwIfCancelled(signal?: AbortSignal, what = 'job'): void {
  if (signal?.aborted) throw cancelledError(what);
}

/** Files to stylize: the files given, plus the images and videos directly inside each folder given. */
export async function expandInputs(inputs: readonly string[], styleName: string): Promise<string[]> {
  const out: string[] = [];
  const style = sanitizeStyleName(styleName).toLowerCase();
  // Earlier results of the same style (photo.<style>.png, photo.<style>-2.png) are not inputs.
  const isOwnOutput = (f: string) => {
    const stem = path.basename(f, path.extname(f)).toLowerCase();
    return (
      stem.endsWith(`.${style}`) || new RegExp(`\\.${style.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d+$`).test(stem)
    );
  };
  for (const input of inputs) {
    let st;
    try {
      st = await fs.stat(input);
    } catch {
      throw new StyleTransferError('not-found', `${input} does not exist`);
    }
    if (st.isDirectory()) {
      const entries = (await fs.readdir(input, { withFileTypes: true }))
        .filter((e) => e.isFile() && MEDIA_EXTENSIONS.includes(path.extname(e.name).toLowerCase()))
        .map((e) => path.join(input, e.name))
        .filter((f) => !isOwnOutput(f))
        .sort();
      out.push(...entries);
    } else {
      out.push(input);
    }
  }
  return [...new Set(out.map((f) => path.resolve(f)))];
}

/**
 * The size of a width × height image scaled by `scale`. The options' values were checked where
 * the request arrived (protocol/jobs.ts for the worker, the CLI's option readers): the engine
 * trusts them.
 */
export function scaledSize(width: number, height: number, scale: number): { width: number; height: number } {
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** Stylizes one decoded image in memory (used by the files job and by previews); `input` is the image as the network saw it (scaled). */
export async function stylizeDecoded(
  engine: StylizeEngine,
  style: LoadedStyle,
  img: DecodedImage,
  opts: StylizeOptions,
): Promise<{ rgb: FloatImage; alpha?: Uint8Array; width: number; height: number; input: DecodedImage }> {
  const scale = opts.scale ?? 1;
  const source =
    scale === 1
      ? img
      : await resizeImage(img, { ...scaledSize(img.width, img.height, scale), fit: 'fill', enlarge: true });
  const stylized = await engine.stylize(style, source.rgb);
  const rgb = postProcess(source.rgb, stylized, { colorMode: opts.colorMode, strength: opts.strength ?? 1 });
  return { rgb, alpha: source.alpha, width: source.width, height: source.height, input: source };
}

/** An encodable result: RGB as bytes (tiled path) or floats (one-piece path). */
export interface StylizedImage {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array | FloatImage;
  readonly alpha?: Uint8Array;
}

/**
 * Stylizes one byte image: scaled first if asked, then in tiles when it is large (more than
 * AUTO_TILE_PIXELS) or a tile size is given, else in one piece through stylizeDecoded.
 * Tiles are reported through `ctx.progress` and cancelled between tiles through `ctx.signal`.
 */
export async function stylizeDecoded8(
  engine: StylizeEngine,
  style: LoadedStyle,
  img: DecodedImage8,
  opts: StylizeOptions,
  ctx: JobContext & { file?: string; index?: number; total?: number; maxPixels?: number } = {},
): Promise<StylizedImage> {
  const scale = opts.scale ?? 1;
  let source = img;
  if (scale !== 1) {
    const { width, height } = scaledSize(img.width, img.height, scale);
    const maxPixels = ctx.maxPixels ?? DEFAULT_MAX_PIXELS;
    if (width * height > maxPixels) {
      throw new StyleTransferError(
        'image-too-large',
        `scaled by ${scale}, the image would be ${width}×${height} pixels, more than the limit of ${Math.round(maxPixels / 1e6)} megapixels`,
      );
    }
    source = await resizeImage8(img, { width, height, fit: 'fill', enlarge: true });
  }
  if (!shouldTile(source.width, source.height, await engine.runtimeFor(style), opts.tileSize)) {
    // Already scaled: scale 1 so it is not resized twice.
    const r = await stylizeDecoded(engine, style, rgbaToFloat(source), { ...opts, scale: 1 });
    return { width: r.width, height: r.height, rgb: r.rgb, alpha: r.alpha };
  }
  const rgb = await stylizeTiled(engine, style, source.rgb, {
    tileSize: opts.tileSize || undefined,
    stats: opts.tileStats,
    colorMode: opts.colorMode,
    strength: opts.strength,
    signal: ctx.signal,
    onProgress: (p) =>
      ctx.progress?.({ type: 'stylize', done: ctx.index ?? 0, total: ctx.total ?? 1, file: ctx.file, tile: p }),
  });
  return { width: source.width, height: source.height, rgb: rgb.data, alpha: source.alpha };
}

export interface StylizeFilesRequest {
  readonly inputs: readonly string[];
  readonly style: string;
  readonly options: StylizeOptions;
  readonly maxInputPixels?: number;
}

export async function stylizeFiles(
  req: StylizeFilesRequest,
  baseEngine: StylizeEngine,
  ctx: JobContext = {},
): Promise<StylizeResult> {
  const { engine, style } = await withBlend(baseEngine, await loadStyle(req.style), req.options);
  // The style's session opens (ONNX Runtime, off this thread) while the first image is found and
  // decoded (sharp, on libuv's threads); its errors are reported by the first image that uses it.
  engine.runtimeFor(style).catch(() => undefined);
  const files = await expandInputs(req.inputs, style.name);
  if (files.length === 0) throw new StyleTransferError('bad-input', `no images to stylize in ${req.inputs.join(', ')}`);
  // Videos and animated images go frame by frame through engine/video, in the same order;
  // animated PNGs through ffmpeg like a clip (sharp reads their first frame only).
  const viaFfmpeg = await Promise.all(files.map(async (f) => isVideoFile(f) || (await isApngFile(f))));
  const moving = await Promise.all(files.map(async (f, i) => viaFfmpeg[i] || (await isAnimatedImage(f))));
  const outputs: { input: string; output: string }[] = [];
  const failures: StylizeResult['failures'][number][] = [];
  ctx.progress?.({ type: 'stylize', done: 0, total: files.length });
  const fail = (i: number, file: string, e: unknown) => {
    failures.push({ input: file, error: toErrorInfo(e) });
    ctx.log?.(`${file}: ${toErrorInfo(e).message}`);
    ctx.progress?.({ type: 'stylize', done: i + 1, total: files.length, file });
  };
  // Pipelined: the next image decodes and the previous one encodes (sharp, on libuv's threads)
  // while this one is computed. At most one write is in flight, so results keep their order.
  const decode = (file: string, i: number) => {
    if (moving[i]) return undefined;
    // Bytes, not floats: a 100-megapixel photo is 300 MB this way (1.2 GB as floats).
    const p = readImage8(file, { maxPixels: req.maxInputPixels });
    p.catch(() => undefined); // awaited (and reported) in turn
    return p;
  };
  let next = decode(files[0], 0);
  let writing: Promise<void> = Promise.resolve();
  let cancelled = false;
  for (const [i, file] of files.entries()) {
    const decoding = next;
    if (i + 1 < files.length) next = decode(files[i + 1], i + 1);
    // A cancel keeps what is done and touches nothing more.
    if (ctx.signal?.aborted) {
      cancelled = true;
      break;
    }
    if (!decoding) {
      await writing;
      try {
        const frameCtx = { ...ctx, index: i, total: files.length, maxPixels: req.maxInputPixels };
        const { output } = viaFfmpeg[i]
          ? await stylizeVideoFile(engine, style, file, req.options, frameCtx)
          : await stylizeAnimatedImage(engine, style, file, req.options, frameCtx);
        outputs.push({ input: file, output });
        ctx.progress?.({ type: 'stylize', done: i + 1, total: files.length, file, output });
      } catch (e) {
        if (e instanceof StyleTransferError && e.code === 'cancelled') {
          cancelled = true;
          break;
        }
        fail(i, file, e);
      }
      continue;
    }
    let result: Awaited<ReturnType<typeof stylizeDecoded8>>;
    let img: DecodedImage8;
    try {
      img = await decoding;
      result = await stylizeDecoded8(engine, style, img, req.options, {
        ...ctx,
        file,
        index: i,
        total: files.length,
        maxPixels: req.maxInputPixels,
      });
      throwIfCancelled(ctx.signal, 'stylize'); // nothing is written after a cancel
    } catch (e) {
      if (e instanceof StyleTransferError && e.code === 'cancelled') {
        cancelled = true;
        break;
      }
      await writing;
      fail(i, file, e);
      continue;
    }
    await writing;
    // The cancel may have come while the previous image was being written.
    if (ctx.signal?.aborted) {
      cancelled = true;
      break;
    }
    const format: ImageFormat =
      req.options.format && req.options.format !== 'same' ? req.options.format : outputFormatFor(img.format);
    writing = writeStylizedImage(
      file,
      style.name,
      { width: result.width, height: result.height, rgb: result.rgb, alpha: result.alpha },
      {
        outDir: req.options.outDir,
        format,
        quality: req.options.quality,
        createDir: req.options.outDir !== undefined,
      },
    ).then(
      (output) => {
        outputs.push({ input: file, output });
        ctx.log?.(`${file} → ${output} (${engine.label})`);
        ctx.progress?.({ type: 'stylize', done: i + 1, total: files.length, file, output });
      },
      (e) => fail(i, file, e),
    );
  }
  await writing;
  if (cancelled) return { outputs, failures, runtime: engine.label, cancelled: true };
  return { outputs, failures, runtime: engine.label };
}
