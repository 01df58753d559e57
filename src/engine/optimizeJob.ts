// The "Stylize with Any Image (slow)" job: a photo + any style image + VGG weights → one
// stylized image by Gatys et al.'s pixel optimisation (src/model/optimize.ts), streaming losses,
// an ETA and previews. Cancel stops within one loss evaluation and, unless `saveOnCancel`,
// writes nothing: the user pressed Cancel on a job whose only product is the file, and the
// last preview already showed them the state. With `saveOnCancel` ("Stop and Save") the best
// image so far is written like a finished one. Files are written atomically under a fresh name
// (photo.<style>-optimized.png), so no partial or clobbered file can result.
import path from 'node:path';
import { tf, type Tensor4D } from '../model/tf';
import { defaultLayersFor, type LossLayers } from '../model/losses';
import { OPTIMIZE_DEFAULTS, OPTIMIZE_LOSS_WEIGHTS, optimizeImage, type OptimizeImageResult } from '../model/optimize';
import { Vgg19 } from '../model/vgg';
import { outputFormatFor, type ImageFormat } from '../io/formats';
import { maxSide, readImage } from '../io/image';
import { encodeImage } from '../io/imageEncode';
import { writeStylizedImage } from '../io/output';
import { loadVggWeights } from '../io/vggWeights';
import { StyleTransferError } from '../protocol/errors';
import {
  OPTIMIZE_METHOD_NAMES,
  OUTPUT_FORMATS,
  type EngineSettings,
  type OptimizeOptions,
  type OptimizeResult,
} from '../protocol/jobs';
import { initTfjsBackend, tfjsBackendFor } from './tfjs/backends';
import type { JobContext } from './stylize/stylizeJob';

export const OPTIMIZE_JOB_DEFAULTS = Object.freeze({
  size: 256,
  maxSize: 512,
  steps: OPTIMIZE_DEFAULTS.steps,
  previewEvery: 10,
  format: 'png' as const,
});
const MIN_SIZE = 16;
const MAX_STYLE_SIZE = 2048;
const MAX_STEPS = 100_000;

const bad = (msg: string) => new StyleTransferError('bad-input', msg);

function intIn(name: string, v: number | undefined, min: number, max: number): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < min || v > max)
    throw bad(`${name} must be a whole number from ${min} to ${max}, got ${v}`);
}

/** The options with defaults filled in; throws one 'bad-input' error for the first bad value. */
export function resolveOptimizeOptions(o: OptimizeOptions) {
  if (typeof o.image !== 'string' || !o.image) throw bad('no photo given');
  if (typeof o.styleImage !== 'string' || !o.styleImage) throw bad('no style image given');
  if (typeof o.vggPath !== 'string' || !o.vggPath)
    throw bad('no VGG19 weights given (a tfjs layers-model folder or imagenet-vgg-verydeep-19.mat)');
  intIn('maxSize', o.maxSize, MIN_SIZE, 8192);
  const maxSize = o.maxSize ?? OPTIMIZE_JOB_DEFAULTS.maxSize;
  const size = o.size ?? Math.min(OPTIMIZE_JOB_DEFAULTS.size, maxSize);
  if (Number.isInteger(size) && size > maxSize)
    throw bad(
      `size ${size} is above the maximum ${maxSize} (each step gets ~4× slower per doubling; raise maxSize to allow it)`,
    );
  intIn('size', size, MIN_SIZE, maxSize);
  intIn('styleSize', o.styleSize, MIN_SIZE, MAX_STYLE_SIZE);
  intIn('steps', o.steps, 1, MAX_STEPS);
  intIn('previewEvery', o.previewEvery, 0, MAX_STEPS);
  intIn('seed', o.seed, 0, 2 ** 32 - 1);
  intIn('quality', o.quality, 1, 100);
  if (o.method !== undefined && !OPTIMIZE_METHOD_NAMES.includes(o.method))
    throw bad(`method must be one of ${OPTIMIZE_METHOD_NAMES.join(', ')}, got ${String(o.method)}`);
  if (o.format !== undefined && !OUTPUT_FORMATS.includes(o.format))
    throw bad(`format must be one of ${OUTPUT_FORMATS.join(', ')}, got ${String(o.format)}`);
  if (o.init !== undefined && o.init !== 'content' && o.init !== 'noise')
    throw bad(`init must be content or noise, got ${String(o.init)}`);
  if (o.learningRate !== undefined && !(Number.isFinite(o.learningRate) && o.learningRate > 0))
    throw bad(`learning rate must be a positive number, got ${o.learningRate}`);
  for (const [name, v] of [
    ['content weight', o.contentWeight],
    ['style weight', o.styleWeight],
    ['tv weight', o.tvWeight],
  ] as const) {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw bad(`${name} must be a number ≥ 0, got ${v}`);
  }
  const method = o.method ?? OPTIMIZE_DEFAULTS.method;
  return {
    ...o,
    size,
    maxSize,
    method,
    styleSize: o.styleSize ?? size,
    steps: o.steps ?? OPTIMIZE_JOB_DEFAULTS.steps,
    previewEvery: o.previewEvery ?? OPTIMIZE_JOB_DEFAULTS.previewEvery,
    learningRate: o.learningRate ?? OPTIMIZE_DEFAULTS.learningRate[method],
    weights: {
      content: o.contentWeight ?? OPTIMIZE_LOSS_WEIGHTS.content,
      style: o.styleWeight ?? OPTIMIZE_LOSS_WEIGHTS.style,
      tv: o.tvWeight ?? OPTIMIZE_LOSS_WEIGHTS.tv,
    },
  };
}

function chooseLayers(vgg: Vgg19, o: OptimizeOptions): LossLayers {
  if (!o.contentLayer && !o.styleLayers?.length) return defaultLayersFor(vgg.availableLayers());
  const fallback = (): LossLayers => defaultLayersFor(vgg.availableLayers());
  const layers = {
    content: o.contentLayer ?? fallback().content,
    style: o.styleLayers?.length ? [...o.styleLayers] : fallback().style,
  };
  vgg.checkLayers([layers.content, ...layers.style]);
  return layers;
}

/** The style part of the output name: `<style file stem>-optimized`. */
export function optimizedStyleName(styleImage: string): string {
  return `${path.basename(styleImage, path.extname(styleImage))}-optimized`;
}

export async function optimizeWithImage(
  options: OptimizeOptions,
  settings: EngineSettings,
  ctx: JobContext = {},
): Promise<OptimizeResult> {
  const o = resolveOptimizeOptions(options);
  const started = performance.now();
  const backend = await initTfjsBackend(tfjsBackendFor(settings.trainingBackend), {
    extraModuleRoots: settings.extraModuleRoots,
    threads: settings.threads,
  });
  if (backend.name === 'wasm') {
    const { registerWasmTrainingKernels } = await import('./tfjs/wasmKernels');
    registerWasmTrainingKernels();
  }
  ctx.progress?.({ type: 'phase', message: `Loading VGG19 weights (${path.basename(o.vggPath)})…` });
  const vggLoaded = await loadVggWeights(o.vggPath);
  ctx.progress?.({ type: 'phase', message: 'Reading the images…' });
  const photo = await readImage(o.image, { maxPixels: settings.maxInputPixels, resize: maxSide(o.size) });
  // The style image may be enlarged: its scale relative to the photo sets the brush-stroke size.
  const style = await readImage(o.styleImage, {
    maxPixels: settings.maxInputPixels,
    resize: maxSide(o.styleSize, true),
  });
  const vgg = Vgg19.fromWeights(vggLoaded.weights);
  const tensors: Tensor4D[] = [];
  try {
    const layers = chooseLayers(vgg, o);
    ctx.log?.(
      `optimising ${photo.width}×${photo.height} on ${backend.label} with ${o.method}; VGG: ${vggLoaded.description}; content ${layers.content}, style ${layers.style.join(', ')}; weights ${JSON.stringify(o.weights)}`,
    );
    const content = tf.tensor4d(photo.rgb.data, [1, photo.height, photo.width, 3]);
    tensors.push(content);
    const styleTensor = tf.tensor4d(style.rgb.data, [1, style.height, style.width, 3]);
    tensors.push(styleTensor);

    ctx.progress?.({
      type: 'phase',
      message: `Optimising ${o.steps} steps (${o.method}, ${photo.width}×${photo.height})…`,
    });
    const gen = optimizeImage({
      vgg,
      content,
      style: styleTensor,
      layers,
      weights: o.weights,
      steps: o.steps,
      method: o.method,
      learningRate: o.learningRate,
      previewEvery: o.previewEvery,
      init: o.init,
      seed: o.seed,
      signal: ctx.signal,
    });
    let avgStep = 0;
    let r = await gen.next();
    while (!r.done) {
      const ev = r.value;
      if (ev.type === 'step') {
        if (ev.step > 0) avgStep = avgStep === 0 ? ev.seconds : avgStep * 0.9 + ev.seconds * 0.1;
        ctx.progress?.({
          type: 'optimize',
          step: ev.step,
          totalSteps: o.steps,
          losses: ev.losses,
          etaSeconds: avgStep * (o.steps - ev.step),
        });
      } else if (ctx.progress) {
        const png = await encodeImage({ width: ev.image.width, height: ev.image.height, rgb: ev.image }, 'png');
        ctx.progress({
          type: 'optimizePreview',
          step: ev.step,
          image: {
            bytes: new Uint8Array(png.buffer, png.byteOffset, png.byteLength),
            mime: 'image/png',
            width: ev.image.width,
            height: ev.image.height,
          },
        });
      }
      r = await gen.next();
    }
    const res: OptimizeImageResult = r.value;
    const cancelled = res.stopReason === 'cancelled' || ctx.signal?.aborted === true;
    let output: string | undefined;
    if (!cancelled || o.saveOnCancel) {
      const format: ImageFormat =
        o.format === undefined
          ? OPTIMIZE_JOB_DEFAULTS.format
          : o.format === 'same'
            ? outputFormatFor(photo.format)
            : o.format;
      output = await writeStylizedImage(
        path.resolve(o.image),
        optimizedStyleName(o.styleImage),
        {
          width: res.image.width,
          height: res.image.height,
          rgb: res.image,
          alpha: photo.alpha,
        },
        {
          outDir: o.outDir ? path.resolve(o.outDir) : undefined,
          format,
          quality: o.quality,
          createDir: o.outDir !== undefined,
        },
      );
      ctx.log?.(`${o.image} → ${output}`);
    }
    return {
      output,
      cancelled,
      steps: res.steps,
      evaluations: res.evaluations,
      initialLosses: res.initialLosses,
      finalLosses: res.finalLosses,
      seconds: (performance.now() - started) / 1000,
      method: res.method,
      width: res.image.width,
      height: res.image.height,
      backend: backend.label,
    };
  } finally {
    tf.dispose(tensors);
    vgg.dispose();
  }
}
