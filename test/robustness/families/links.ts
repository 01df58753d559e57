// Links and special files in place of EVERY file a component reads (issue 15): a link out of
// the folder, a dangling link, a FIFO, a link to /dev/zero and a folder, for each file of a
// checkpoint (also its resume state, thumbnail and cached ONNX graphs), of an ml5 folder, of a
// Keras VGG folder and a .mat VGG folder, and of the private ONNX cache. Each must be refused
// with one foreseen error or ignored (a cache file, a thumbnail), never followed out of the
// folder (the recorder sees every content read), and never block: every input runs under a
// deadline and its FIFO is unblocked afterwards, so a regression is a crash, not a hung run.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { readCheckpoint, writeCheckpoint } from '../../../src/io/checkpoint';
import { readTrainingState, trainingStateFiles } from '../../../src/io/trainingState';
import { readMl5Folder } from '../../../src/io/ml5Import';
import { loadVggWeights } from '../../../src/io/vggWeights';
import { paramSpecs, sizeOfShape } from '../../../src/model/architecture';
import { initTfjsBackend } from '../../../src/engine/tfjs/backends';
import { createStylizeEngine } from '../../../src/engine/stylize/engines';
import { loadStyle } from '../../../src/engine/styles';
import { ensureOnnxModel } from '../../../src/engine/onnx/onnxCache';
import { stylizeFiles } from '../../../src/engine/stylize/stylizeJob';
import { readImage } from '../../../src/io/image';
import { CrashError, type Family, type FuzzInput, type RunResult } from '../lib/family';
import { linkTree, copyTree } from '../lib/tree';
import { TINY_ARCH, seededWeights, tinyStyleInfo } from '../lib/styles';
import { shared } from '../../helpers/paths';
import { runFst } from '../../helpers/cli';
import { SPECIAL_KINDS, plantSpecial, unblockFifo, within, type SpecialKind } from '../../helpers/specialFiles';
import { syntheticVggWeights, writeKerasFolder } from '../../helpers/vggFixtures';
import { writeVggMat } from '../../helpers/matWriter';
import { stylizeAndCheck } from './images';

const DEADLINE_MS = 30_000;
const GRAPHS = ['model.onnx', 'model.onnx.json', 'model.fast.onnx', 'model.fast.onnx.json'];

interface Target {
  /** 'checkpoint', 'ml5', 'vgg-keras', 'vgg-mat', 'cache'. */
  readonly component: string;
  /** The file replaced, relative to the component's folder. */
  readonly file: string;
  /** A same-kind file outside every allowed folder, for 'link-outside'. */
  readonly outside: (env: { outside: string }) => string;
  run(ctx: { dir: string }, kind: SpecialKind): Promise<RunResult>;
}

export const family: Family = {
  name: 'links',
  async available() {
    return process.platform === 'win32' ? 'needs mkfifo and /dev/zero' : true;
  },
  async build(env) {
    await initTfjsBackend('cpu');
    const arch = TINY_ARCH;
    const zeros = () => new Map(paramSpecs(arch).map((p) => [p.name, new Float32Array(sizeOfShape(p.shape))]));
    // The checkpoint master: weights, resume state, a thumbnail, and its own cached graphs.
    const ckMaster = path.join(env.dir, 'ck-master');
    const thumb = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#a04060' } })
      .jpeg()
      .toBuffer();
    await writeCheckpoint(
      ckMaster,
      {
        ...tinyStyleInfo('linked', 2, arch),
        thumbnail: 'thumbnail.jpg',
      },
      seededWeights(arch, 11),
      {
        extraFiles: {
          'thumbnail.jpg': thumb,
          ...trainingStateFiles(
            arch,
            { iteration: 2, hyperparameters: {}, dataDir: env.dir, dataFiles: ['a.png'], styleImage: 'style.png' },
            { step: 2, m: zeros(), v: zeros() },
          ),
        },
      },
    );
    const cacheDir = path.join(env.dir, 'cache');
    const onnx = await createStylizeEngine({ runtime: 'onnx', cacheDir, threads: 1 });
    const photo = await sharp({ create: { width: 9, height: 7, channels: 3, background: '#806040' } })
      .png()
      .toBuffer();
    const seedDir = path.join(env.dir, 'seed');
    fs.mkdirSync(seedDir);
    fs.writeFileSync(path.join(seedDir, 'photo.png'), photo);
    await stylizeFiles({ inputs: [path.join(seedDir, 'photo.png')], style: ckMaster, options: {} }, onnx, {});
    // The core graph too (tiled stylize and the fallback use it), under the same private key.
    const loaded = await loadStyle(ckMaster);
    await ensureOnnxModel({
      arch,
      weights: loaded.weights,
      weightsSha256: loaded.hash,
      dir: ckMaster,
      fallbackCacheDir: path.join(cacheDir, 'onnx'),
    });
    for (const g of GRAPHS)
      if (!fs.existsSync(path.join(ckMaster, g))) throw new Error(`the master checkpoint has no ${g}`);
    // What the style's own weights make of the photo: a planted graph must not change it.
    const reference = (await readImage(path.join(seedDir, `photo.linked.png`))).rgb.data;
    const ml5Master = path.join(env.dir, 'ml5-master');
    copyTree(shared('pretrained', 'udnie'), ml5Master);
    const kerasMaster = path.join(env.dir, 'keras-master');
    writeKerasFolder(kerasMaster, syntheticVggWeights([4, 4], 1));
    const matMaster = path.join(env.dir, 'mat-master');
    fs.mkdirSync(matMaster);
    const w = syntheticVggWeights([4], 2);
    fs.writeFileSync(path.join(matMaster, 'vgg.mat'), writeVggMat(w.layers));

    const stylizeChecked = async (ctx: { dir: string }, style: string, engine = onnx): Promise<RunResult> => {
      const r = await stylizeAndCheck(engine, style, path.join(ctx.dir, 'photo.png'), {}, ctx.dir);
      for (const out of r.outputs ?? []) {
        const data = (await readImage(path.join(ctx.dir, out))).rgb.data;
        if (data.length !== reference.length || data.some((v, k) => Math.abs(v - reference[k]) > 1))
          throw new CrashError(`${out} differs from what the style's own weights make: a planted graph ran`);
      }
      return r;
    };
    const ck = (file: string, outside: string, run: Target['run']): Target => ({
      component: 'checkpoint',
      file,
      outside: (e) => path.join(e.outside, outside),
      run,
    });
    const targets: Target[] = [
      // What `fst info` and stylize read.
      ...['style.json', 'model.json', 'weights.bin'].map((f) =>
        ck(f, 'model.json', async (ctx) => {
          const dir = path.join(ctx.dir, 'c');
          await readCheckpoint(dir);
          await loadStyle(dir);
          const r = await stylizeChecked(ctx, dir);
          return { ...r, outputs: [...(r.outputs ?? []), ...GRAPHS.map((g) => path.join('c', g))] };
        }),
      ),
      // Resume state.
      ...['training-state.json', 'optimizer.bin'].map((f) =>
        ck(f, 'Variable', async (ctx) => {
          await readTrainingState(path.join(ctx.dir, 'c'), arch);
          return { note: 'ok' };
        }),
      ),
      // The thumbnail, as `fst export` copies it: never out of the folder, never blocking the export.
      ck('thumbnail.jpg', 'decoy.png', async (ctx, kind) => {
        const out = path.join(ctx.dir, 'exported');
        const r = await runFst(['export', path.join(ctx.dir, 'c'), '-o', out]);
        if (r.code !== 0) throw new CrashError(`fst export failed over a ${kind} thumbnail: ${r.stderr}`);
        if (fs.existsSync(path.join(out, 'thumbnail.jpg')))
          throw new CrashError(`fst export copied a ${kind} thumbnail`);
        return { outputs: fs.readdirSync(out).map((n) => path.join('exported', n)), note: 'ok' };
      }),
      // Cached graphs beside the checkpoint: ignored and left alone, the style's own weights run.
      ...GRAPHS.map((f) =>
        ck(f, 'model.json', async (ctx) => {
          const r = await stylizeChecked(ctx, path.join(ctx.dir, 'c'));
          return { ...r, outputs: [...(r.outputs ?? []), ...GRAPHS.map((g) => path.join('c', g))] };
        }),
      ),
      // An ml5 folder.
      ...['manifest.json', 'Variable', 'Variable_47'].map((f): Target => ({
        component: 'ml5',
        file: f,
        outside: (e) => path.join(e.outside, f === 'manifest.json' ? 'model.json' : 'Variable'),
        run: async (ctx) => {
          await readMl5Folder(path.join(ctx.dir, 'c'));
          return { note: 'ok' };
        },
      })),
      // VGG weights: a Keras folder and a folder holding a .mat.
      ...['model.json', 'group1-shard1of1', 'group2-shard1of1'].map((f): Target => ({
        component: 'vgg-keras',
        file: f,
        outside: (e) => path.join(e.outside, f === 'model.json' ? 'model.json' : 'decoy.png'),
        run: async (ctx) => {
          await loadVggWeights(path.join(ctx.dir, 'c'));
          return { note: 'ok' };
        },
      })),
      {
        component: 'vgg-mat',
        file: 'vgg.mat',
        outside: (e) => path.join(e.outside, 'decoy.png'),
        run: async (ctx) => {
          await loadVggWeights(path.join(ctx.dir, 'c'));
          return { note: 'ok' };
        },
      },
    ];
    // The private ONNX cache of a read-only style: every file the engine keeps there.
    for (const suffix of ['graph-key', '.model.fast.onnx', '.model.fast.onnx.json']) {
      targets.push({
        component: 'cache',
        file: suffix,
        outside: (e) => path.join(e.outside, 'model.json'),
        run: async (ctx) => {
          const engine = await createStylizeEngine({
            runtime: 'onnx',
            cacheDir: path.join(ctx.dir, 'cache'),
            threads: 1,
            readOnlyRoots: [path.join(ctx.dir, 'c')],
          });
          try {
            // The cache is ours to rewrite; what matters is that the style's own weights run.
            return { ...(await stylizeChecked(ctx, path.join(ctx.dir, 'c'), engine)), mayChange: ['cache'] };
          } finally {
            engine.dispose();
          }
        },
      });
    }

    const masters: Record<string, string> = {
      checkpoint: ckMaster,
      ml5: ml5Master,
      'vgg-keras': kerasMaster,
      'vgg-mat': matMaster,
      cache: ckMaster,
    };
    const inputs: FuzzInput[] = [];
    for (const t of targets) {
      for (const kind of SPECIAL_KINDS) {
        let fifo: string | undefined;
        inputs.push({
          kind: `${t.component}/${t.file.replace(/^\./, '')}/${kind}`,
          async prepare(ctx) {
            const dir = path.join(ctx.dir, 'c');
            linkTree(masters[t.component], dir);
            fs.writeFileSync(path.join(ctx.dir, 'photo.png'), photo);
            let file = path.join(dir, t.file);
            if (t.component === 'cache') {
              // Fill this input's private cache first, then plant the special file in it.
              for (const g of GRAPHS) fs.rmSync(path.join(dir, g));
              const cache = path.join(ctx.dir, 'cache');
              const engine = await createStylizeEngine({
                runtime: 'onnx',
                cacheDir: cache,
                threads: 1,
                readOnlyRoots: [dir],
              });
              try {
                await engine.stylize(await loadStyle(dir), {
                  width: 4,
                  height: 4,
                  channels: 3,
                  data: new Float32Array(48),
                });
              } finally {
                engine.dispose();
              }
              const onnxDir = path.join(cache, 'onnx');
              const name =
                t.file === 'graph-key' ? 'graph-key' : fs.readdirSync(onnxDir).find((n) => n.endsWith(t.file));
              if (!name) throw new Error(`no *${t.file} in ${onnxDir}: ${fs.readdirSync(onnxDir)}`);
              file = path.join(onnxDir, name);
            }
            fifo = plantSpecial(file, kind, t.outside(env));
          },
          async run(ctx) {
            try {
              return await within(DEADLINE_MS, `${t.component} with ${t.file} as ${kind}`, t.run(ctx, kind));
            } finally {
              if (fifo) unblockFifo(fifo);
            }
          },
        });
      }
    }
    return {
      inputs,
      writeRoots: [cacheDir],
      usesTfjs: false,
      async dispose() {
        onnx.dispose();
      },
    };
  },
};
