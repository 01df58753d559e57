// Planted caches (issue 15): ONNX graphs and sidecars that someone else wrote, beside a style
// (a downloaded or shared style can carry any file), in the private cache of a read-only style,
// and in the old shared temp cache ($TMPDIR/fast-style-transfer-cache). Another style's graph,
// copied or linked, with sidecars that name this style's weights and the planted graph's true
// hash but carry no valid MAC (random, copied, missing, old format, every field hostile); a
// user's own model.onnx; our own graph damaged. Whatever was planted, the photo must come out
// as the style's own weights make it, and nothing planted beside a style may be overwritten
// (the runner's snapshots catch a changed original).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { initTfjsBackend } from '../../../src/engine/tfjs/backends';
import { createStylizeEngine } from '../../../src/engine/stylize/engines';
import { ensureOnnxModel } from '../../../src/engine/onnx/onnxCache';
import { loadStyle } from '../../../src/engine/styles';
import { stylizeFiles } from '../../../src/engine/stylize/stylizeJob';
import { readImage } from '../../../src/io/image';
import { CrashError, type Family, type FuzzInput, type RunResult } from '../lib/family';
import { HOSTILE_VALUES } from '../lib/jsonMutate';
import { linkTree } from '../lib/tree';
import { TINY_ARCH, writeTinyStyle } from '../lib/styles';
import { stylizeAndCheck } from './images';

const GRAPHS = ['model.onnx', 'model.onnx.json', 'model.fast.onnx', 'model.fast.onnx.json'];

interface Plant {
  readonly kind: string;
  /** Where the style is stylized from: beside the checkpoint, its private cache (read-only style), or the old shared temp cache. */
  readonly where: 'beside' | 'private-cache' | 'shared-tmp';
  /** Writes the planted files; `dir` is the style, `graphDir` the folder the graphs are planted in. */
  plant(p: { dir: string; graphDir: string; myHash: string }): void;
  /** Originals the engine may rewrite (our own damaged graph), relative to the input folder. */
  readonly mayChange?: readonly string[];
}

export const family: Family = {
  name: 'caches',
  async build(env) {
    await initTfjsBackend('cpu');
    const cacheDir = path.join(env.dir, 'cache');
    const engine = await createStylizeEngine({ runtime: 'onnx', cacheDir, threads: 1 });
    const photo = await sharp({ create: { width: 9, height: 7, channels: 3, background: '#806040' } })
      .png()
      .toBuffer();
    const seed = path.join(env.dir, 'seed');
    fs.mkdirSync(seed);
    fs.writeFileSync(path.join(seed, 'photo.png'), photo);
    // The style under test (a clean master, never given graphs) and another style whose own,
    // authentic graphs get planted.
    const master = await writeTinyStyle(path.join(env.dir, 'mine'), 'mine', TINY_ARCH, 7);
    const other = await writeTinyStyle(path.join(env.dir, 'other'), 'other', TINY_ARCH, 99);
    const otherStyle = await loadStyle(other);
    await stylizeFiles({ inputs: [path.join(seed, 'photo.png')], style: other, options: {} }, engine, {});
    await ensureOnnxModel({
      arch: TINY_ARCH,
      weights: otherStyle.weights,
      weightsSha256: otherStyle.hash,
      dir: other,
      fallbackCacheDir: path.join(cacheDir, 'onnx'),
    });
    const clean = path.join(env.dir, 'clean');
    linkTree(master, clean);
    await stylizeFiles({ inputs: [path.join(seed, 'photo.png')], style: clean, options: {} }, engine, {});
    const reference = (await readImage(path.join(seed, 'photo.mine.png'))).rgb.data;
    const otherRef = (await readImage(path.join(seed, 'photo.other.png'))).rgb.data;
    if (reference.every((v, k) => Math.abs(v - otherRef[k]) <= 1))
      throw new Error('the two styles give the same image: the family could not tell them apart');
    const myHash = (await loadStyle(master)).hash;
    const ourOwn = {
      graph: fs.readFileSync(path.join(clean, 'model.fast.onnx')),
      sidecar: fs.readFileSync(path.join(clean, 'model.fast.onnx.json')),
    };
    // The core graph runs under the 'reference' precision: planted core graphs are tried with it.
    const coreEngine = await createStylizeEngine({ runtime: 'onnx', cacheDir, threads: 1, precision: 'reference' });
    fs.mkdirSync(path.join(seed, 'core'));
    await stylizeFiles(
      { inputs: [path.join(seed, 'photo.png')], style: clean, options: { outDir: path.join(seed, 'core') } },
      coreEngine,
      {},
    );
    const coreReference = (await readImage(path.join(seed, 'core', 'photo.mine.png'))).rgb.data;

    const forged =
      (graph: string, edit: (s: Record<string, unknown>) => void) =>
      (p: { graphDir: string; myHash: string }, name = graph) => {
        const s = JSON.parse(fs.readFileSync(path.join(other, `${graph}.json`), 'utf8')) as Record<string, unknown>;
        s.weightsSha256 = p.myHash;
        edit(s);
        fs.writeFileSync(path.join(p.graphDir, `${name}.json`), JSON.stringify(s));
      };
    const plants: Plant[] = [];
    for (const graph of ['model.fast.onnx', 'model.onnx']) {
      const sidecars: [string, (s: Record<string, unknown>) => void][] = [
        [
          'random-mac',
          (s) => {
            s.mac = crypto.randomBytes(32).toString('hex');
          },
        ],
        ['copied-mac', () => undefined],
        [
          'no-mac',
          (s) => {
            delete s.mac;
          },
        ],
        [
          'format-1',
          (s) => {
            s.format = 1;
            delete s.mac;
          },
        ],
        ...HOSTILE_VALUES.map(([k, v]): [string, (s: Record<string, unknown>) => void] => [
          `mac=${k}`,
          (s) => {
            s.mac = v;
          },
        ]),
        ...['format', 'exporterVersion', 'opset', 'onnxSha256', 'onnxBytes', 'variant', 'info'].flatMap((field) =>
          HOSTILE_VALUES.filter((_, i) => i % 3 === 0).map(([k, v]): [string, (s: Record<string, unknown>) => void] => [
            `${field}=${k}`,
            (s) => {
              s[field] = v;
            },
          ]),
        ),
      ];
      for (const [sk, edit] of sidecars) {
        for (const how of ['copy', 'link'] as const) {
          if (how === 'link' && !['random-mac', 'copied-mac', 'format-1'].includes(sk)) continue;
          plants.push({
            kind: `beside/${graph}/${how}/${sk}`,
            where: 'beside',
            plant: (p) => {
              if (how === 'link') fs.symlinkSync(path.join(other, graph), path.join(p.graphDir, graph));
              else fs.copyFileSync(path.join(other, graph), path.join(p.graphDir, graph));
              forged(graph, edit)(p);
            },
          });
        }
      }
    }
    // A user's own model files: never overwritten, never run as ours.
    for (const graph of ['model.onnx', 'model.fast.onnx']) {
      plants.push({
        kind: `beside/users-own-${graph}`,
        where: 'beside',
        plant: (p) => fs.writeFileSync(path.join(p.graphDir, graph), 'my own model'),
      });
      plants.push({
        kind: `beside/users-own-${graph}-old-sidecar`,
        where: 'beside',
        plant: (p) => {
          fs.writeFileSync(path.join(p.graphDir, graph), 'my own model');
          fs.writeFileSync(
            path.join(p.graphDir, `${graph}.json`),
            JSON.stringify({ format: 1, weightsSha256: p.myHash }),
          );
        },
      });
    }
    // Our own graph, damaged after its sidecar was written: replaced (ours to replace).
    for (const [k, damage] of [
      ['truncated', (b: Buffer) => b.subarray(0, b.length >> 1)],
      [
        'bitflip',
        (b: Buffer) => {
          const o = Buffer.from(b);
          o[o.length - 9] ^= 0x10;
          return o;
        },
      ],
    ] as const) {
      plants.push({
        kind: `beside/our-own-damaged-${k}`,
        where: 'beside',
        mayChange: ['c/model.fast.onnx', 'c/model.fast.onnx.json'],
        plant: (p) => {
          fs.writeFileSync(path.join(p.graphDir, 'model.fast.onnx'), damage(ourOwn.graph));
          fs.writeFileSync(path.join(p.graphDir, 'model.fast.onnx.json'), ourOwn.sidecar);
        },
      });
    }
    // The private cache of a read-only style, and the old shared temp cache, with forged entries.
    for (const where of ['private-cache', 'shared-tmp'] as const) {
      for (const [sk, edit] of [
        [
          'random-mac',
          (s: Record<string, unknown>) => {
            s.mac = crypto.randomBytes(32).toString('hex');
          },
        ],
        [
          'format-1',
          (s: Record<string, unknown>) => {
            s.format = 1;
            delete s.mac;
          },
        ],
      ] as const) {
        plants.push({
          kind: `${where}/${sk}`,
          where,
          mayChange: where === 'private-cache' ? ['cache'] : [],
          plant: (p) => {
            const name = `${p.myHash.slice(0, 32)}.model.fast.onnx`;
            fs.copyFileSync(path.join(other, 'model.fast.onnx'), path.join(p.graphDir, name));
            forged('model.fast.onnx', edit)(p, name);
          },
        });
      }
    }

    const inputs: FuzzInput[] = plants.map((pl) => ({
      kind: pl.kind,
      prepare(ctx) {
        const dir = path.join(ctx.dir, 'c');
        linkTree(master, dir);
        fs.writeFileSync(path.join(ctx.dir, 'photo.png'), photo);
        let graphDir = dir;
        if (pl.where === 'private-cache') {
          graphDir = path.join(ctx.dir, 'cache', 'onnx');
          fs.mkdirSync(graphDir, { recursive: true, mode: 0o700 });
          fs.chmodSync(path.join(ctx.dir, 'cache'), 0o700);
        } else if (pl.where === 'shared-tmp') {
          graphDir = path.join(ctx.dir, 'tmp', 'fast-style-transfer-cache', 'onnx');
          fs.mkdirSync(graphDir, { recursive: true });
        }
        pl.plant({ dir, graphDir, myHash });
      },
      async run(ctx): Promise<RunResult> {
        const dir = path.join(ctx.dir, 'c');
        const saved = { TMPDIR: process.env.TMPDIR, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
        const core = pl.kind.includes('model.onnx');
        let e = core ? coreEngine : engine;
        if (pl.where === 'private-cache')
          e = await createStylizeEngine({
            runtime: 'onnx',
            cacheDir: path.join(ctx.dir, 'cache'),
            threads: 1,
            readOnlyRoots: [dir],
          });
        if (pl.where === 'shared-tmp') {
          // The CLI's engine (no cache folder given), with the temp folder where the plant is.
          process.env.TMPDIR = path.join(ctx.dir, 'tmp');
          process.env.XDG_CACHE_HOME = path.join(ctx.dir, 'xdg');
          e = await createStylizeEngine({ runtime: 'onnx', threads: 1, readOnlyRoots: [dir] });
        }
        try {
          const r = await stylizeAndCheck(e, dir, path.join(ctx.dir, 'photo.png'), {}, ctx.dir);
          for (const out of r.outputs ?? []) {
            const data = (await readImage(path.join(ctx.dir, out))).rgb.data;
            const ref = core ? coreReference : reference;
            if (data.some((v, k) => Math.abs(v - ref[k]) > 1))
              throw new CrashError(`${out} is not what the style's own weights make: a planted graph ran`);
          }
          const outputs = [...(r.outputs ?? []), ...GRAPHS.map((g) => path.join('c', g))];
          if (pl.where === 'shared-tmp') {
            outputs.push('xdg/fast-style-transfer/onnx/graph-key');
            for (const n of fs.readdirSync(path.join(ctx.dir, 'xdg', 'fast-style-transfer', 'onnx')))
              outputs.push(path.join('xdg', 'fast-style-transfer', 'onnx', n));
          }
          return { ...r, outputs, mayChange: pl.mayChange };
        } finally {
          if (e !== engine && e !== coreEngine) e.dispose();
          for (const [k, v] of Object.entries(saved))
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
      },
    }));
    return {
      inputs,
      writeRoots: [cacheDir],
      async dispose() {
        engine.dispose();
        coreEngine.dispose();
      },
    };
  },
};
