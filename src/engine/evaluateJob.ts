// The "evaluate" job (`fst evaluate`, the gallery's Evaluate action): stylizes held-out photos
// with one style (and any compared with it) and measures each result against its photo and the
// painting — style distance, content distance and blob share (src/model/metrics.ts, blobs.ts).
// Everything that can be refused (weights, painting, styles, photos, an existing sheet) is
// checked before the first photo is stylized; nothing is written except the sheet, when asked.
import fs from 'node:fs/promises';
import path from 'node:path';
import { tf, type Tensor3D, type Tensor4D } from '../model/tf';
import { Vgg19 } from '../model/vgg';
import { METRIC_LAYERS, METRIC_PAINTING_SIDE, gramsOf, imageMetrics } from '../model/metrics';
import { blobShare } from '../model/blobs';
import { toBytes, type RgbBytes } from '../model/pixels';
import { maxSide, readImage8, type DecodedImage8 } from '../io/image';
import { composeContactSheet } from '../io/contactSheet';
import { refuseExisting, writeImageFile } from '../io/output';
import { formatFromExtension } from '../io/formats';
import { loadVggWeights } from '../io/vggWeights';
import { StyleTransferError } from '../protocol/errors';
import type { EngineSettings, EvaluateFigures, EvaluateOptions, EvaluateResult } from '../protocol/jobs';
import { initTfjsBackend, tfjsBackendFor } from './tfjs/backends';
import { samplePhotosDir } from './onnx/onnxQuantized';
import { expandInputs, stylizeDecoded8, throwIfCancelled, type JobContext } from './stylize/stylizeJob';
import { loadStyle, type LoadedStyle } from './styles';
import type { StylizeEngine } from './stylize/stylizer';

export const EVALUATE_DEFAULTS = Object.freeze({ maxSide: 1024 });
const MAX_STYLES = 4;

const bad = (msg: string) => new StyleTransferError('bad-input', msg);

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/** The photos to measure: the files and folder contents given, else the shipped sample photos. */
async function photoFiles(photos: readonly string[] | undefined, styleName: string): Promise<string[]> {
  const inputs = photos?.length ? photos : [samplePhotosDir()];
  if (inputs[0] === undefined)
    throw new StyleTransferError(
      'not-found',
      'no photos given and the sample photos (media/samples/photos) were not found',
    );
  // A folder's earlier `fst stylize` outputs of this style are results, not photos: skipped.
  const files = await expandInputs(inputs as string[], styleName);
  if (files.length === 0) throw bad(`no images in ${inputs.join(', ')}`);
  return files;
}

function mean(rows: readonly EvaluateFigures[]): EvaluateFigures {
  const avg = (k: keyof EvaluateFigures) => rows.reduce((s, r) => s + r[k], 0) / rows.length;
  return { styleDistance: avg('styleDistance'), contentDistance: avg('contentDistance'), blobShare: avg('blobShare') };
}

const toTensor = (img: RgbBytes): Tensor4D => tf.tensor4d(Float32Array.from(img.data), [1, img.height, img.width, 3]);

/** Resolves and checks the options; throws one error for the first problem. */
async function resolve(o: EvaluateOptions) {
  if (!Array.isArray(o.styles) || o.styles.length === 0) throw bad('no style given to evaluate');
  if (o.styles.length > MAX_STYLES)
    throw bad(`at most ${MAX_STYLES} styles can be evaluated together, got ${o.styles.length}`);
  if (!o.painting) throw bad('no painting given (the style image the style was trained on)');
  if (!o.vggPath) throw bad('no VGG19 weights given (a tfjs layers-model folder or imagenet-vgg-verydeep-19.mat)');
  const side = o.maxSide ?? EVALUATE_DEFAULTS.maxSide;
  if (!Number.isInteger(side) || side < 16 || side > 8192)
    throw bad(`maxSide must be a whole number from 16 to 8192, got ${side}`);
  if (o.sheet !== undefined) {
    if (!formatFromExtension(o.sheet))
      throw bad(`cannot tell the sheet's image format from ${path.basename(o.sheet)}; use .png`);
    await refuseExisting(o.sheet);
    if (!(await exists(path.dirname(o.sheet))))
      throw new StyleTransferError('not-found', `the folder of ${o.sheet} does not exist`);
  }
  return { side, sheet: o.sheet };
}

export async function evaluateStyles(
  options: EvaluateOptions,
  engine: StylizeEngine,
  settings: EngineSettings,
  ctx: JobContext = {},
): Promise<EvaluateResult> {
  const started = performance.now();
  const { side, sheet } = await resolve(options);
  const styles: LoadedStyle[] = [];
  for (const s of options.styles) styles.push(await loadStyle(s));
  const files = await photoFiles(options.photos, styles[0].name);
  ctx.progress?.({
    type: 'phase',
    message: `Reading ${files.length} photo${files.length === 1 ? '' : 's'} and the painting…`,
  });
  const photos: DecodedImage8[] = [];
  for (const f of files)
    photos.push(await readImage8(f, { maxPixels: settings.maxInputPixels, resize: maxSide(side) }));
  const painting = await readImage8(options.painting, {
    maxPixels: settings.maxInputPixels,
    resize: maxSide(METRIC_PAINTING_SIDE, true),
  });
  ctx.progress?.({ type: 'phase', message: `Loading VGG19 weights (${path.basename(options.vggPath)})…` });
  const vggLoaded = await loadVggWeights(options.vggPath);
  await initTfjsBackend(tfjsBackendFor(settings.trainingBackend), {
    extraModuleRoots: settings.extraModuleRoots,
    threads: settings.threads,
  });
  const vgg = Vgg19.fromWeights(vggLoaded.weights);
  let paintingGrams: Record<string, Tensor3D> = {};
  try {
    vgg.checkLayers([...METRIC_LAYERS.style, METRIC_LAYERS.content]);
    const p = toTensor(painting.rgb);
    try {
      paintingGrams = gramsOf(vgg, p, METRIC_LAYERS.style);
    } finally {
      p.dispose();
    }
    const perModel = styles.map(() => [] as EvaluateResult['models'][number]['photos'][number][]);
    const runtimes = styles.map(() => '');
    const rows: RgbBytes[][] = [];
    for (const [i, photo] of photos.entries()) {
      throwIfCancelled(ctx.signal, 'evaluate');
      ctx.progress?.({ type: 'evaluate', done: i, total: photos.length, photo: files[i] });
      const row: RgbBytes[] = [photo.rgb];
      const photoTensor = toTensor(photo.rgb);
      try {
        for (const [k, style] of styles.entries()) {
          const out = await stylizeDecoded8(
            engine,
            style,
            photo,
            {},
            { signal: ctx.signal, maxPixels: settings.maxInputPixels },
          );
          runtimes[k] = engine.label;
          // Measured as written to a file: 8-bit, clamped.
          const bytes: RgbBytes = {
            width: out.width,
            height: out.height,
            data: out.rgb instanceof Uint8Array ? out.rgb : toBytes(out.rgb.data),
          };
          const outTensor = toTensor(bytes);
          try {
            const m = await imageMetrics(vgg, outTensor, photoTensor, paintingGrams);
            const blobs = blobShare(bytes, photo.rgb);
            perModel[k].push({
              photo: files[i],
              width: photo.width,
              height: photo.height,
              styleDistance: m.styleDistance,
              styleDistanceByLayer: m.styleDistanceByLayer,
              contentDistance: m.contentDistance,
              blobShare: blobs.share,
            });
            ctx.log?.(
              `${style.name} on ${path.basename(files[i])}: style ${m.styleDistance.toFixed(3)}, content ${m.contentDistance.toFixed(3)}, blobs ${(100 * blobs.share).toFixed(2)} %`,
            );
          } finally {
            outTensor.dispose();
          }
          if (sheet) row.push(bytes);
        }
      } finally {
        photoTensor.dispose();
      }
      if (sheet) rows.push(row);
    }
    ctx.progress?.({ type: 'evaluate', done: photos.length, total: photos.length });
    let written: EvaluateResult['sheet'];
    if (sheet) {
      throwIfCancelled(ctx.signal, 'evaluate');
      const img = await composeContactSheet(rows, painting.rgb);
      await writeImageFile(sheet, { width: img.width, height: img.height, rgb: img.data });
      written = { path: sheet, width: img.width, height: img.height };
    }
    return {
      painting: options.painting,
      vgg: vggLoaded.description,
      models: styles.map((s, k) => ({
        style: s.dir,
        name: s.name,
        runtime: runtimes[k],
        photos: perModel[k],
        mean: mean(perModel[k]),
      })),
      ...(written ? { sheet: written } : {}),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    tf.dispose(Object.values(paintingGrams));
    vgg.dispose();
  }
}
