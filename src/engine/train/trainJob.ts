// The "train a style" job: VGG weights + style image + training images → a checkpoint,
// streaming losses, previews and checkpoint events; Cancel saves the current state so
// nothing is lost, and Resume continues exactly (optimizer moments, step, data order).
import path from 'node:path';
import { tf, type Tensor4D } from '../../model/tf';
import { Adam } from '../../model/adam';
import { PerceptualLoss, defaultLayersFor } from '../../model/losses';
import { resolveHyperparameters, totalIterations, type TrainingHyperparameters } from '../../model/presets';
import { validateArchitecture } from '../../model/architecture';
import { trainTransformNet, type TrainingData, type TrainingStepper } from '../../model/train';
import { TransformNet } from '../../model/transformNet';
import { Vgg19 } from '../../model/vgg';
import type { FloatImage } from '../../model/pixels';
import { THUMBNAIL_FILE, readCheckpoint, writeCheckpoint, type LossRecord, type StyleInfo } from '../../io/checkpoint';
import { openTrainingImages } from '../../io/dataset';
import { maxSide, readImage } from '../../io/image';
import { encodeImage } from '../../io/imageEncode';
import { readTrainingState, trainingStateFiles, type TrainingStateJson } from '../../io/trainingState';
import { refuseExisting } from '../../io/output';
import { loadVggWeights } from '../../io/vggWeights';
import { StyleTransferError } from '../../protocol/errors';
import type {
  EngineSettings,
  OnnxTrainingBackend,
  ResumeOptions,
  TrainOptions,
  TrainResult,
} from '../../protocol/jobs';
import { TOOL_VERSION } from '../../protocol/version';
import { initTfjsBackend, tfjsBackendFor, type BackendReport } from '../tfjs/backends';
import { OnnxTrainer, checkTrainingProvider, onnxStepper } from './onnxTrainer';
import { chooseTrainingBackend, onnxTrainingLabel, startOnnxTrainer } from './trainingBackend';
import { throwIfCancelled, type JobContext } from '../stylize/stylizeJob';

const MAX_LOSS_RECORDS = 2000;

/** Keeps the loss history at most MAX_LOSS_RECORDS long by thinning old entries evenly. */
function appendLoss(history: LossRecord[], rec: LossRecord): LossRecord[] {
  history.push(rec);
  if (history.length <= MAX_LOSS_RECORDS) return history;
  return history.filter((_, i) => i % 2 === 0 || i === history.length - 1);
}

async function thumbnail(img: FloatImage): Promise<Buffer> {
  const scale = Math.min(1, 160 / Math.max(img.width, img.height));
  const { resizeFloatImage } = await import('../../io/image');
  const small =
    scale < 1
      ? await resizeFloatImage(img, {
          width: Math.max(1, Math.round(img.width * scale)),
          height: Math.max(1, Math.round(img.height * scale)),
          fit: 'fill',
        })
      : img;
  return encodeImage({ width: small.width, height: small.height, rgb: small.data }, 'jpeg', { quality: 85 });
}

/** What runs the steps: a tfjs backend, or ONNX Runtime. */
interface TrainingBackendUsed {
  readonly name: BackendReport['name'] | OnnxTrainingBackend;
  readonly label: string;
}

interface Prepared {
  /** The checkpoint folder written. */
  output: string;
  /** A resume: the training images are the saved list (in the saved order). */
  resumed: boolean;
  hp: TrainingHyperparameters;
  startIteration: number;
  net: TransformNet;
  adam: Adam;
  info: Omit<StyleInfo, 'formatVersion'>;
  history: LossRecord[];
  state: Omit<TrainingStateJson, 'formatVersion' | 'iteration' | 'adamStep'>;
}

async function prepareResume(opts: ResumeOptions, backend: TrainingBackendUsed, ctx: JobContext): Promise<Prepared> {
  const ck = await readCheckpoint(opts.checkpoint);
  const saved = await readTrainingState(opts.checkpoint, ck.info.architecture);
  const savedHp = saved.json.hyperparameters as Record<string, unknown>;
  // A resume keeps every saved hyperparameter; only the length can be extended.
  let hp: TrainingHyperparameters;
  try {
    hp = resolveHyperparameters('paper', {
      ...savedHp,
      ...(opts.iterations !== undefined ? { iterations: opts.iterations } : {}),
    });
  } catch (e) {
    throw new StyleTransferError(
      'bad-checkpoint',
      `cannot resume from ${opts.checkpoint}: its saved training settings are damaged (${(e as Error).message})`,
    );
  }
  const net = TransformNet.fromWeights(ck.info.architecture, ck.weights);
  const adam = new Adam(
    net.params,
    { learningRate: hp.learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
    saved.adam,
  );
  ctx.log?.(`resuming ${ck.info.name} at iteration ${saved.json.iteration}`);
  return {
    output: opts.checkpoint,
    resumed: true,
    hp,
    startIteration: saved.json.iteration,
    net,
    adam,
    history: [...(ck.info.lossHistory ?? [])],
    info: { ...ck.info, backend: backend.name },
    state: {
      hyperparameters: savedHp,
      dataDir: saved.json.dataDir,
      dataFiles: saved.json.dataFiles,
      styleImage: saved.json.styleImage,
      vggPath: saved.json.vggPath,
    },
  };
}

async function prepareNew(opts: TrainOptions, backend: TrainingBackendUsed, ctx: JobContext): Promise<Prepared> {
  const now = new Date().toISOString();
  await refuseExisting(opts.output, 'choose a new name or resume it');
  let hp: TrainingHyperparameters;
  try {
    hp = resolveHyperparameters(opts.preset, opts.overrides ?? {});
  } catch (e) {
    throw new StyleTransferError('bad-input', (e as Error).message);
  }
  let net: TransformNet;
  if (opts.initFrom) {
    const base = await readCheckpoint(opts.initFrom);
    const asked = opts.overrides?.architecture;
    if (asked !== undefined && JSON.stringify(validateArchitecture(asked)) !== JSON.stringify(base.info.architecture)) {
      throw new StyleTransferError(
        'bad-input',
        `--init-from ${opts.initFrom}: its network ${JSON.stringify(base.info.architecture)} differs from the one asked for (leave out the size options)`,
      );
    }
    hp = { ...hp, architecture: base.info.architecture };
    net = TransformNet.fromWeights(base.info.architecture, base.weights);
    ctx.log?.(`starting from the weights of ${base.info.name} (${opts.initFrom})`);
  } else {
    net = TransformNet.init(hp.architecture, hp.seed);
  }
  const adam = new Adam(net.params, { learningRate: hp.learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  return {
    output: opts.output,
    resumed: false,
    hp,
    startIteration: 0,
    net,
    adam,
    history: [],
    info: {
      name: opts.name,
      architecture: hp.architecture,
      iteration: 0,
      createdAt: now,
      updatedAt: now,
      backend: backend.name,
      source: {
        kind: 'trained',
        styleImage: path.resolve(opts.styleImage),
        dataset: path.resolve(opts.dataDir),
        ...(opts.initFrom ? { initFrom: path.resolve(opts.initFrom) } : {}),
      },
      hyperparameters: { ...hp, preset: opts.preset },
    },
    state: {
      hyperparameters: { ...hp },
      dataDir: path.resolve(opts.dataDir),
      dataFiles: [],
      styleImage: path.resolve(opts.styleImage),
      vggPath: path.resolve(opts.vggPath),
    },
  };
}

/** Trains a new style into `opts.output` (refused when it exists). */
export function trainStyle(opts: TrainOptions, settings: EngineSettings, ctx: JobContext = {}): Promise<TrainResult> {
  return train(opts.vggPath, (backend) => prepareNew(opts, backend, ctx), settings, ctx);
}

/** Continues the checkpoint `opts.checkpoint` exactly where it stopped (its saved settings, images and optimizer state). */
export function resumeTraining(
  opts: ResumeOptions,
  settings: EngineSettings,
  ctx: JobContext = {},
): Promise<TrainResult> {
  return train(opts.vggPath, (backend) => prepareResume(opts, backend, ctx), settings, ctx);
}

async function train(
  vggPath: string,
  prepare: (backend: TrainingBackendUsed) => Promise<Prepared>,
  settings: EngineSettings,
  ctx: JobContext,
): Promise<TrainResult> {
  const warn = (m: string) => ctx.log?.(m);
  // On ONNX Runtime (named, or by 'auto' where it is faster) tfjs still computes the style
  // targets and previews, on the backend 'auto' picks.
  const tfjsBackend = await initTfjsBackend(tfjsBackendFor(settings.trainingBackend), {
    extraModuleRoots: settings.extraModuleRoots,
    threads: settings.threads,
  });
  const choice = chooseTrainingBackend(settings.trainingBackend, tfjsBackend.name);
  let backend: TrainingBackendUsed = choice.onnx
    ? { name: choice.name, label: onnxTrainingLabel(choice.onnx) }
    : tfjsBackend;
  // A GPU provider named but missing: say so before minutes of loading.
  if (choice.onnx && choice.onnx !== 'cpu') checkTrainingProvider(choice.onnx);
  ctx.progress?.({ type: 'phase', message: `Loading VGG19 weights (${path.basename(vggPath)})…` });
  const vggLoaded = await loadVggWeights(vggPath);
  // A cancel while loading stops here: nothing is written (a resumed checkpoint stays as it was).
  throwIfCancelled(ctx.signal, 'training');
  const p = await prepare(backend);
  const { hp } = p;
  const owned: { dispose(): void }[] = [p.net, p.adam];
  let trainer: OnnxTrainer | undefined;
  try {
    const vgg = Vgg19.fromWeights(vggLoaded.weights);
    owned.push(vgg);
    const layers =
      hp.contentLayers.length || hp.styleLayers.length
        ? {
            content: hp.contentLayers[0] ?? defaultLayersFor(vgg.availableLayers()).content,
            style: hp.styleLayers.length ? hp.styleLayers : defaultLayersFor(vgg.availableLayers()).style,
          }
        : defaultLayersFor(vgg.availableLayers());
    ctx.log?.(`VGG: ${vggLoaded.description}; content ${layers.content}, style ${layers.style.join(', ')}`);

    throwIfCancelled(ctx.signal, 'training');
    ctx.progress?.({ type: 'phase', message: 'Reading the style image…' });
    const styleImg = await readImage(p.state.styleImage, hp.styleSize > 0 ? { resize: maxSide(hp.styleSize) } : {});
    const styleTensor = tf.tensor4d(styleImg.rgb.data, [1, styleImg.height, styleImg.width, 3]);
    let loss: PerceptualLoss;
    try {
      loss = PerceptualLoss.create(vgg, styleTensor, {
        layers,
        weights: { content: hp.contentWeight, style: hp.styleWeight, tv: hp.tvWeight, range: hp.rangeWeight },
      });
    } finally {
      styleTensor.dispose();
    }
    owned.push(loss);

    throwIfCancelled(ctx.signal, 'training');
    ctx.progress?.({ type: 'phase', message: 'Checking the training images…' });
    const images = await openTrainingImages(p.state.dataDir, hp.imageSize, {
      warn,
      augment: hp.augment,
      cropScale: hp.cropScale,
      files: p.resumed && p.state.dataFiles.length ? p.state.dataFiles : undefined,
    });
    const state = { ...p.state, dataFiles: [...images.files] };
    let iterations: number;
    try {
      iterations = totalIterations(hp, images.files.length);
    } catch (e) {
      throw new StyleTransferError('bad-input', `training length: ${(e as Error).message}`);
    }
    if (p.startIteration >= iterations) {
      return { checkpoint: p.output, iterations: p.startIteration, cancelled: false };
    }
    const data: TrainingData = {
      size: images.files.length,
      async batch(indices, epoch) {
        // The augmentation choice depends on (seed, epoch, image) only, so resume stays exact.
        const imgs = await Promise.all(
          indices.map((i) => images.load(i, hp.augment ? hp.seed * 1_000_003 + epoch : undefined)),
        );
        const flat = new Float32Array(indices.length * hp.imageSize * hp.imageSize * 3);
        imgs.forEach((img, k) => flat.set(img.data, k * img.data.length));
        return tf.tensor4d(flat, [indices.length, hp.imageSize, hp.imageSize, 3]) as Tensor4D;
      },
    };
    const preview = await images.load(0);
    const thumb = await thumbnail(styleImg.rgb);
    throwIfCancelled(ctx.signal, 'training');
    const argsForProvenance = {
      tool: `fast-style-transfer ${TOOL_VERSION}`,
      vgg: vggLoaded.description,
      layers,
      trainingImages: images.files.length,
      skippedImages: images.skipped.length,
    };

    let history = p.history;
    let done = p.startIteration;
    let savedAt = p.startIteration;
    let epoch = 0;
    let avgStep = 0;
    const save = async (iteration: number, final: boolean) => {
      const info = {
        ...p.info,
        iteration,
        epoch,
        lossHistory: history,
        thumbnail: THUMBNAIL_FILE,
        backend: backend.name,
        provenance: { ...(p.info.provenance ?? {}), ...argsForProvenance, backend: backend.name },
      };
      const files = {
        ...trainingStateFiles(hp.architecture, { ...state, iteration }, await p.adam.getState()),
        [THUMBNAIL_FILE]: thumb,
      };
      await writeCheckpoint(p.output, info, await p.net.toWeights(), { extraFiles: files });
      savedAt = iteration;
      ctx.progress?.({ type: 'checkpoint', iteration, path: p.output });
      ctx.log?.(`checkpoint at iteration ${iteration}${final ? ' (final)' : ''}: ${p.output}`);
    };

    let stepper: TrainingStepper | undefined;
    let note = choice.reason ? ` (${choice.reason})` : '';
    if (choice.onnx) {
      ctx.progress?.({ type: 'phase', message: 'Building the ONNX Runtime training graph…' });
      const targetGrams: Record<string, Float32Array> = {};
      for (const [name, a] of Object.entries(loss.targetGrams())) targetGrams[name] = (await a.data()) as Float32Array;
      const weights = await p.net.toWeights();
      const state = await p.adam.getState();
      const started = await startOnnxTrainer(settings.trainingBackend, () =>
        OnnxTrainer.create({
          arch: p.net.arch,
          batch: hp.batchSize,
          height: hp.imageSize,
          width: hp.imageSize,
          vgg: vggLoaded.weights,
          layers,
          lossWeights: loss.weights,
          targetGrams,
          weights,
          adam: p.adam.config,
          state,
          threads: settings.threads,
          provider: choice.onnx,
        }),
      );
      if ('trainer' in started) {
        trainer = started.trainer;
        stepper = onnxStepper(trainer, p.net, p.adam);
      } else {
        backend = tfjsBackend;
        note = ` (${started.fallback})`;
      }
      throwIfCancelled(ctx.signal, 'training');
    }
    // Said once, after the choice is final (the CLI prints it; VS Code shows it in the log and the progress).
    ctx.log?.(`training on ${backend.label}${note}${stepper ? `; previews on ${tfjsBackend.label}` : ''}`);

    ctx.progress?.({ type: 'phase', message: `Training ${iterations - p.startIteration} steps on ${backend.label}…` });
    const gen = trainTransformNet({
      net: p.net,
      loss,
      data,
      optimizer: p.adam,
      startIteration: p.startIteration,
      previewImage: preview,
      stepper,
      schedule: {
        batchSize: hp.batchSize,
        iterations,
        seed: hp.seed,
        checkpointEvery: hp.checkpointEvery,
        previewEvery: hp.previewEvery,
      },
    });
    let cancelled = false;
    // The expected time, told once the first steps (one of them warm-up) show this machine's pace.
    const firstStep = p.startIteration + 1;
    let pacedFrom = 0;
    for await (const ev of gen) {
      if (ev.type === 'step') {
        if (ev.iteration === firstStep) pacedFrom = Date.now();
        else if (ev.iteration === firstStep + 2) {
          const perStep = (Date.now() - pacedFrom) / 2000;
          const minutes = (perStep * (iterations - p.startIteration)) / 60;
          ctx.log?.(
            `expected time: about ${minutes < 1 ? '1' : Math.round(minutes)} min for ${iterations - p.startIteration} steps (${perStep.toFixed(2)} s per step on this machine now)`,
          );
        }
        done = ev.iteration;
        epoch = ev.epoch;
        avgStep = avgStep === 0 ? ev.seconds : avgStep * 0.9 + ev.seconds * 0.1;
        history = appendLoss(history, { iteration: ev.iteration, ...ev.losses });
        ctx.progress?.({
          type: 'train',
          iteration: ev.iteration,
          totalIterations: iterations,
          epoch: ev.epoch,
          losses: ev.losses,
          imagesPerSecond: ev.imagesPerSecond,
          etaSeconds: avgStep * (iterations - ev.iteration),
        });
      } else if (ev.type === 'preview') {
        const png = await encodeImage({ width: ev.image.width, height: ev.image.height, rgb: ev.image.data }, 'png');
        ctx.progress?.({
          type: 'trainPreview',
          iteration: ev.iteration,
          image: { bytes: new Uint8Array(png), mime: 'image/png', width: ev.image.width, height: ev.image.height },
        });
      } else {
        await save(ev.iteration, ev.final);
      }
      if (ctx.signal?.aborted) {
        cancelled = true;
        break; // ends the generator between steps
      }
    }
    if (cancelled && done > savedAt) await save(done, false);
    return { checkpoint: p.output, iterations: done, cancelled };
  } finally {
    await trainer?.release();
    for (const o of owned.reverse()) o.dispose();
  }
}
