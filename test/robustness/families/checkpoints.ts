// Corrupt style checkpoints through the real loading and stylize path: weights.bin cut short,
// extended, bit-flipped, holding NaN/Inf; model.json and style.json malformed, wrong-typed,
// with wrong shapes or a future format version; files missing or replaced by folders; and the
// resume state (training-state.json, optimizer.bin) damaged the same ways. A checkpoint that
// still loads must stylize an image (ONNX Runtime, and tfjs for every third one).
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { paramSpecs, sizeOfShape } from '../../../src/model/architecture';
import { resolveHyperparameters } from '../../../src/model/presets';
import {
  readCheckpoint,
  readStyleInfo,
  writeCheckpoint,
  MODEL_FILE,
  STYLE_FILE,
  WEIGHTS_FILE,
  type StyleInfo,
} from '../../../src/io/checkpoint';
import { trainingStateFiles, OPTIMIZER_FILE, TRAINING_STATE_FILE } from '../../../src/io/trainingState';
import { resumeTraining } from '../../../src/engine/train/trainJob';
import { readStyleSummary } from '../../../src/services/styleStore';
import { StyleTransferError } from '../../../src/protocol/errors';
import type { EngineSettings } from '../../../src/protocol/jobs';
import { syntheticVggWeights, writeKerasFolder } from '../../helpers/vggFixtures';
import { isInside } from '../lib/sandbox';
import { initTfjsBackend } from '../../../src/engine/tfjs/backends';
import { createStylizeEngine } from '../../../src/engine/stylize/engines';
import { loadStyle } from '../../../src/engine/styles';
import { CrashError, type Family, type FuzzInput, type RunResult } from '../lib/family';
import { flipBits, truncateAt } from '../lib/mutate';
import { HOSTILE_VALUES, setAt, textVariants, type JsonPath } from '../lib/jsonMutate';
import { Rng, seedOf } from '../lib/prng';
import { TINY_ARCH, seededWeights, tinyStyleInfo } from '../lib/styles';
import { stylizeAndCheck } from './images';

type Files = Record<string, Buffer | 'dir' | 'missing'>;

interface Case {
  readonly kind: string;
  readonly files: (base: Files) => Files;
  readonly resume?: boolean;
}

function json(b: Buffer | 'dir' | 'missing'): unknown {
  return JSON.parse((b as Buffer).toString('utf8'));
}

function edit(file: string, fn: (doc: unknown) => unknown): (base: Files) => Files {
  return (base) => ({ ...base, [file]: Buffer.from(JSON.stringify(fn(json(base[file])))) });
}

function raw(file: string, fn: (b: Buffer) => Buffer | 'dir' | 'missing'): (base: Files) => Files {
  return (base) => ({ ...base, [file]: fn(base[file] as Buffer) });
}

function floatAt(b: Buffer, index: number, value: number): Buffer {
  const o = Buffer.from(b);
  o.writeFloatLE(value, Math.min(index * 4, o.length - 4));
  return o;
}

function cases(base: Files, rng: Rng): Case[] {
  const out: Case[] = [
    { kind: 'valid', files: (b) => b },
    { kind: 'valid-resume', files: (b) => b, resume: true },
  ];
  const weights = base[WEIGHTS_FILE] as Buffer;
  const n = weights.length;
  // weights.bin
  for (const cut of [0, 1, 3, 4, 100, Math.floor(n / 2), n - 4, n - 1])
    out.push({ kind: 'weights/truncated', files: raw(WEIGHTS_FILE, (b) => truncateAt(b, cut)) });
  for (const extra of [1, 4, 4096])
    out.push({
      kind: 'weights/extended',
      files: raw(WEIGHTS_FILE, (b) => Buffer.concat([b, Buffer.alloc(extra, 0x41)])),
    });
  for (let k = 0; k < 12; k++)
    out.push({ kind: 'weights/bitflip', files: raw(WEIGHTS_FILE, (b) => flipBits(b, rng.fork(k), [1, 4, 32][k % 3])) });
  for (const [kind, v, at] of [
    ['nan', NaN, 0],
    ['inf', Infinity, n / 8],
    ['-inf', -Infinity, n / 4 - 1],
    ['huge-finite', 3e38, 5],
    ['denormal', 1e-45, 9],
    ['neg-zero', -0, 2],
  ] as const) {
    out.push({ kind: `weights/${kind}`, files: raw(WEIGHTS_FILE, (b) => floatAt(b, Math.floor(at), v)) });
  }
  out.push({
    kind: 'weights/all-huge',
    files: raw(WEIGHTS_FILE, (b) => {
      const o = Buffer.from(b);
      for (let i = 0; i + 4 <= o.length; i += 4) o.writeFloatLE(1e30, i);
      return o;
    }),
  });
  out.push({ kind: 'weights/random', files: raw(WEIGHTS_FILE, () => rng.bytes(n)) });
  // model.json
  const model = base[MODEL_FILE] as Buffer;
  for (const [kind, text] of textVariants(model.toString('utf8'), rng))
    out.push({ kind: `model.json/${kind}`, files: (b) => ({ ...b, [MODEL_FILE]: Buffer.from(text) }) });
  const modelFields: JsonPath[] = [
    ['format'],
    ['formatVersion'],
    ['weightsManifest'],
    ['weightsManifest', 0],
    ['weightsManifest', 0, 'paths'],
    ['weightsManifest', 0, 'paths', 0],
    ['weightsManifest', 0, 'weights'],
    ['weightsManifest', 0, 'weights', 0],
    ['weightsManifest', 0, 'weights', 0, 'name'],
    ['weightsManifest', 0, 'weights', 0, 'shape'],
    ['weightsManifest', 0, 'weights', 0, 'shape', 0],
    ['weightsManifest', 0, 'weights', 1, 'dtype'],
    ['weightsManifest', 0, 'weights', 2, 'quantization'],
  ];
  for (const f of modelFields) {
    for (const [kind, v] of HOSTILE_VALUES)
      out.push({
        kind: `model.json/${f.filter((x) => typeof x === 'string').join('.')}=${kind}`,
        files: edit(MODEL_FILE, (d) => setAt(d, f, v)),
      });
  }
  for (const [kind, v] of [
    ['2', 2],
    ['99', 99],
    ['2^53', 2 ** 53],
  ] as const)
    out.push({
      kind: `model.json/future-version-${kind}`,
      files: edit(MODEL_FILE, (d) => setAt(d, ['formatVersion'], v)),
    });
  out.push({
    kind: 'model.json/path-traversal',
    files: edit(MODEL_FILE, (d) => setAt(d, ['weightsManifest', 0, 'paths'], ['../../../outside/Variable'])),
  });
  out.push({
    kind: 'model.json/absolute-path',
    files: edit(MODEL_FILE, (d) => setAt(d, ['weightsManifest', 0, 'paths'], ['/etc/passwd'])),
  });
  out.push({
    kind: 'model.json/two-groups',
    files: edit(MODEL_FILE, (d) => {
      const m = d as { weightsManifest: unknown[] };
      return { ...m, weightsManifest: [m.weightsManifest[0], m.weightsManifest[0]] };
    }),
  });
  out.push({
    kind: 'model.json/shape-1e9',
    files: edit(MODEL_FILE, (d) => setAt(d, ['weightsManifest', 0, 'weights', 0, 'shape'], [1e9, 1e9, 1e9, 1e9])),
  });
  out.push({
    kind: 'model.json/weights-reversed',
    files: edit(MODEL_FILE, (d) => {
      const m = structuredClone(d) as { weightsManifest: { weights: unknown[] }[] };
      m.weightsManifest[0].weights.reverse();
      return m;
    }),
  });
  out.push({
    kind: 'model.json/weight-duplicated',
    files: edit(MODEL_FILE, (d) => {
      const m = structuredClone(d) as { weightsManifest: { weights: unknown[] }[] };
      m.weightsManifest[0].weights[1] = m.weightsManifest[0].weights[0];
      return m;
    }),
  });
  out.push({
    kind: 'model.json/weight-dropped',
    files: edit(MODEL_FILE, (d) => {
      const m = structuredClone(d) as { weightsManifest: { weights: unknown[] }[] };
      m.weightsManifest[0].weights.pop();
      return m;
    }),
  });
  out.push({
    kind: 'model.json/claims-float16',
    files: edit(MODEL_FILE, (d) => {
      const m = structuredClone(d) as { weightsManifest: { weights: Record<string, unknown>[] }[] };
      for (const w of m.weightsManifest[0].weights) w.quantization = { dtype: 'float16' };
      return m;
    }),
  });
  // style.json
  const style = base[STYLE_FILE] as Buffer;
  for (const [kind, text] of textVariants(style.toString('utf8'), rng))
    out.push({ kind: `style.json/${kind}`, files: (b) => ({ ...b, [STYLE_FILE]: Buffer.from(text) }) });
  const styleFields: JsonPath[] = [
    ['formatVersion'],
    ['name'],
    ['architecture'],
    ['architecture', 'filters'],
    ['architecture', 'filters', 1],
    ['architecture', 'residualBlocks'],
    ['architecture', 'upsample'],
    ['architecture', 'type'],
    ['iteration'],
    ['source'],
    ['lossHistory'],
    ['lossHistory', 0],
    ['lossHistory', 0, 'total'],
    ['epoch'],
    ['createdAt'],
    ['thumbnail'],
    ['hyperparameters'],
    ['hyperparameters', 'preset'],
    ['provenance'],
    ['backend'],
  ];
  for (const f of styleFields) {
    for (const [kind, v] of HOSTILE_VALUES)
      out.push({
        kind: `style.json/${f.filter((x) => typeof x === 'string').join('.')}=${kind}`,
        files: edit(STYLE_FILE, (d) => setAt(d, f, v)),
      });
  }
  for (const [kind, v] of [
    ['2', 2],
    ['1000', 1000],
  ] as const)
    out.push({
      kind: `style.json/future-version-${kind}`,
      files: edit(STYLE_FILE, (d) => setAt(d, ['formatVersion'], v)),
    });
  for (const t of ['..', '.', '../../outside/decoy.png', '/etc/passwd', 'style.json', 'weights.bin/..'])
    out.push({ kind: 'style.json/thumbnail-path', files: edit(STYLE_FILE, (d) => setAt(d, ['thumbnail'], t)) });
  // The same hostile style.json fields on the resume path (the training job reads them again).
  for (const f of [
    ['lossHistory'],
    ['lossHistory', 0],
    ['epoch'],
    ['provenance'],
    ['hyperparameters'],
    ['name'],
    ['iteration'],
  ] as JsonPath[]) {
    for (const [kind, v] of HOSTILE_VALUES.slice(0, 12))
      out.push({
        kind: `resume/style.json/${f.filter((x) => typeof x === 'string').join('.')}=${kind}`,
        resume: true,
        files: edit(STYLE_FILE, (d) => setAt(d, f, v)),
      });
  }
  out.push({
    kind: 'style.json/filters-1024',
    files: edit(STYLE_FILE, (d) => setAt(d, ['architecture', 'filters'], [1024, 1024, 1024])),
  });
  out.push({
    kind: 'style.json/paper-architecture',
    files: edit(STYLE_FILE, (d) =>
      setAt(d, ['architecture'], { type: 'johnson2016', filters: [32, 64, 128], residualBlocks: 5 }),
    ),
  });
  // Files missing or replaced by folders.
  for (const f of [STYLE_FILE, MODEL_FILE, WEIGHTS_FILE]) {
    out.push({ kind: `${f}/missing`, files: (b) => ({ ...b, [f]: 'missing' }) });
    out.push({ kind: `${f}/is-a-folder`, files: (b) => ({ ...b, [f]: 'dir' }) });
  }
  // Resume state.
  const state = base[TRAINING_STATE_FILE] as Buffer;
  for (const [kind, text] of textVariants(state.toString('utf8'), rng).slice(0, 10))
    out.push({
      kind: `training-state/${kind}`,
      resume: true,
      files: (b) => ({ ...b, [TRAINING_STATE_FILE]: Buffer.from(text) }),
    });
  for (const f of [
    ['formatVersion'],
    ['iteration'],
    ['adamStep'],
    ['dataFiles'],
    ['dataFiles', 0],
    ['dataDir'],
    ['styleImage'],
    ['vggPath'],
    ['hyperparameters'],
    ['hyperparameters', 'iterations'],
    ['hyperparameters', 'batchSize'],
    ['hyperparameters', 'imageSize'],
    ['hyperparameters', 'architecture'],
    ['hyperparameters', 'learningRate'],
  ] as JsonPath[]) {
    for (const [kind, v] of HOSTILE_VALUES.slice(0, 12))
      out.push({
        kind: `training-state/${f.join('.')}=${kind}`,
        resume: true,
        files: edit(TRAINING_STATE_FILE, (d) => setAt(d, f, v)),
      });
  }
  const opt = base[OPTIMIZER_FILE] as Buffer;
  for (const cut of [0, 4, Math.floor(opt.length / 2), opt.length - 1])
    out.push({ kind: 'optimizer/truncated', resume: true, files: raw(OPTIMIZER_FILE, (b) => truncateAt(b, cut)) });
  out.push({ kind: 'optimizer/nan', resume: true, files: raw(OPTIMIZER_FILE, (b) => floatAt(b, 3, NaN)) });
  out.push({ kind: 'optimizer/missing', resume: true, files: (b) => ({ ...b, [OPTIMIZER_FILE]: 'missing' }) });
  return out;
}

/** readCheckpoint's StyleInfo must have the types its interface promises, whatever style.json held. */
function checkStyleInfo(info: StyleInfo): void {
  const bad = (what: string) => {
    throw new CrashError(`style info: ${what}`);
  };
  if (typeof info.name !== 'string') bad('name is not a string');
  if (!Number.isFinite(info.iteration)) bad('iteration is not a finite number');
  if (
    info.lossHistory !== undefined &&
    !(
      Array.isArray(info.lossHistory) &&
      info.lossHistory.every(
        (l) => l && typeof l === 'object' && Number.isFinite(l.iteration) && Number.isFinite(l.total),
      )
    )
  )
    bad(`lossHistory is ${JSON.stringify(info.lossHistory)?.slice(0, 80)}`);
  if (info.epoch !== undefined && !Number.isFinite(info.epoch)) bad('epoch is not a number');
  for (const k of ['hyperparameters', 'provenance'] as const) {
    const v = info[k];
    if (v !== undefined && (v === null || typeof v !== 'object' || Array.isArray(v)))
      bad(`${k} is ${JSON.stringify(v)?.slice(0, 80)}`);
  }
  for (const k of ['thumbnail', 'backend', 'createdAt', 'updatedAt'] as const)
    if (info[k] !== undefined && typeof info[k] !== 'string') bad(`${k} is not a string`);
  if (!info.source || typeof info.source !== 'object') bad('source is not an object');
}

function writeFiles(dir: string, files: Files): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    if (content === 'missing') continue;
    if (content === 'dir') fs.mkdirSync(path.join(dir, name));
    else fs.writeFileSync(path.join(dir, name), content);
  }
}

export const family: Family = {
  name: 'checkpoints',
  async build(env) {
    await initTfjsBackend('cpu');
    const arch = TINY_ARCH;
    const specs = paramSpecs(arch);
    const zeros = () => new Map(specs.map((p) => [p.name, new Float32Array(sizeOfShape(p.shape))]));
    // What a resume needs: a VGG prefix to relu3_1 (few channels), the style image, one photo.
    const tinyVgg = path.join(env.dir, 'vgg');
    writeKerasFolder(tinyVgg, syntheticVggWeights([4, 4, 4, 4, 4]));
    const styleImage = path.join(env.dir, 'style.png');
    await sharp({ create: { width: 24, height: 20, channels: 3, background: '#c04020' } })
      .png()
      .toFile(styleImage);
    const dataDir = path.join(env.dir, 'data');
    fs.mkdirSync(dataDir);
    await sharp({ create: { width: 20, height: 20, channels: 3, background: '#2080c0' } })
      .png()
      .toFile(path.join(dataDir, 'a.png'));
    const hp = resolveHyperparameters('quick', {
      iterations: 4,
      imageSize: 16,
      batchSize: 1,
      architecture: arch,
      styleSize: 24,
      checkpointEvery: 2,
      previewEvery: 0,
    });
    const baseDirs: Record<string, Files> = {};
    for (const precision of ['float32', 'float16'] as const) {
      const dir = path.join(env.dir, `base-${precision}`);
      await writeCheckpoint(dir, tinyStyleInfo('fuzzstyle', 4, arch), seededWeights(arch, 3), {
        precision,
        extraFiles: trainingStateFiles(
          arch,
          { iteration: 4, hyperparameters: { ...hp }, dataDir, dataFiles: ['a.png'], styleImage, vggPath: tinyVgg },
          { step: 4, m: zeros(), v: zeros() },
        ),
      });
      baseDirs[precision] = Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
      fs.rmSync(dir, { recursive: true });
    }
    const settings: EngineSettings = {
      trainingBackend: 'cpu',
      stylizeRuntime: 'onnx',
      threads: 1,
      cacheDir: path.join(env.dir, 'cache'),
      extraModuleRoots: [],
      maxInputPixels: 4_000_000,
    };
    const photo = await sharp({ create: { width: 9, height: 7, channels: 3, background: '#806040' } })
      .png()
      .toBuffer();
    const cacheDir = path.join(env.dir, 'cache');
    const onnx = await createStylizeEngine({ runtime: 'onnx', cacheDir, threads: 1 });
    const all: { precision: string; c: Case }[] = [];
    for (const precision of ['float32', 'float16'] as const) {
      const rng = new Rng(seedOf(`checkpoints/${precision}`));
      let list = cases(baseDirs[precision], rng);
      // float16 storage: only what differs (weights bytes, quantization); the JSON cases once are enough.
      if (precision === 'float16')
        list = list.filter((c) => c.kind.startsWith('weights/') || c.kind.startsWith('valid'));
      for (const c of list) all.push({ precision, c });
    }
    // float16 weights that decode to Inf/NaN (exponent all ones).
    for (const [kind, bits] of [
      ['half-inf', 0x7c00],
      ['half-nan', 0x7e00],
    ] as const) {
      all.push({
        precision: 'float16',
        c: {
          kind: `weights/${kind}`,
          files: raw(WEIGHTS_FILE, (b) => {
            const o = Buffer.from(b);
            o.writeUInt16LE(bits, 10);
            return o;
          }),
        },
      });
    }
    const inputs: FuzzInput[] = all.map(({ precision, c }, i) => ({
      kind: `${precision === 'float16' ? 'f16:' : ''}${c.kind}`,
      prepare(ctx) {
        writeFiles(path.join(ctx.dir, 'ck'), c.files(baseDirs[precision]));
        fs.writeFileSync(path.join(ctx.dir, 'photo.png'), photo);
      },
      async run(ctx): Promise<RunResult> {
        const dir = path.join(ctx.dir, 'ck');
        // The host's summary (Styles view, gallery) must never throw, and its thumbnail must be a file in the folder.
        const summary = await readStyleSummary(dir, { dir: ctx.dir, kind: 'user' });
        if (summary?.thumbnail && !(isInside(summary.thumbnail, dir) && fs.statSync(summary.thumbnail).isFile())) {
          return { escape: `readStyleSummary offers ${summary.thumbnail} as the thumbnail of ${dir}` };
        }
        await readStyleInfo(dir).then(checkStyleInfo, (e) => {
          if (!(e instanceof StyleTransferError)) throw e;
        });
        if (c.resume) {
          // Resume up to the saved iteration: everything up to the training loop runs (checkpoint,
          // state, hyperparameters, network, optimizer), then the tiny VGG stops it cleanly.
          const ck = await readCheckpoint(dir);
          checkStyleInfo(ck.info);
          const r = await resumeTraining({ checkpoint: dir, vggPath: tinyVgg }, settings);
          // A resume that trained rewrote the checkpoint (atomically): changes under ck/ are expected.
          const after = await readCheckpoint(dir);
          const trained = after.weightsHash !== ck.weightsHash;
          if (trained && after.info.iteration !== r.iterations)
            throw new CrashError(
              `resume reported ${r.iterations} iterations, the checkpoint holds ${after.info.iteration}`,
            );
          return { note: trained ? 'trained' : 'ok', mayChange: ['ck'] };
        }
        await loadStyle(dir);
        // tfjs: a fresh engine per input, disposed before the tensors are counted (the engine
        // keeps a few networks cached on purpose).
        const engine =
          i % 3 === 0 ? await createStylizeEngine({ runtime: 'tfjs', cacheDir, tfjsBackend: 'cpu' }) : onnx;
        let r: RunResult;
        try {
          r = await stylizeAndCheck(engine, dir, path.join(ctx.dir, 'photo.png'), {}, ctx.dir);
        } finally {
          if (engine !== onnx) {
            engine.dispose();
            await new Promise((resolve) => setImmediate(resolve));
          }
        }
        // The ONNX exports (core and fast graph) are cached beside a checkpoint: expected, not leftovers.
        return {
          ...r,
          outputs: [
            ...(r.outputs ?? []),
            'ck/model.onnx',
            'ck/model.onnx.json',
            'ck/model.fast.onnx',
            'ck/model.fast.onnx.json',
          ],
        };
      },
    }));
    return {
      inputs,
      writeRoots: [cacheDir],
      readRoots: [tinyVgg, styleImage, dataDir],
      usesTfjs: true,
      async dispose() {
        onnx.dispose();
      },
    };
  },
};
