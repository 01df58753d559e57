// Hostile VGG19 weights through the real loaders (loadVggWeights: Keras tfjs folders and
// MatConvNet .mat files) and, when they load, a forward pass of the loss network on a tiny
// image (tfjs, tensors counted). The real block 1–3 folder with damaged shards and manifest;
// small synthetic folders with every manifest field hostile; small VGG-shaped .mat files cut
// short, bit-flipped, with lying headers.
import fs from 'node:fs';
import path from 'node:path';
import { tf } from '../../../src/model/tf';
import { Vgg19 } from '../../../src/model/vgg';
import { loadVggWeights } from '../../../src/io/vggWeights';
import { initTfjsBackend } from '../../../src/engine/tfjs/backends';
import type { Family, FuzzInput, RunResult } from '../lib/family';
import { HOSTILE_VALUES, setAt, textVariants } from '../lib/jsonMutate';
import { flipBits, interesting, overwrite, truncateAt } from '../lib/mutate';
import { Rng, seedOf } from '../lib/prng';
import { copyTree, linkTree, replaceFile } from '../lib/tree';
import { shared } from '../../helpers/paths';
import { syntheticVggWeights, writeKerasFolder, rng as vggRng } from '../../helpers/vggFixtures';
import { writeVggMat, type TinyConv } from '../../helpers/matWriter';

interface VggCase {
  readonly kind: string;
  readonly master: 'real' | 'synthetic' | 'none';
  prepare(dir: string, outside: string): string;
}

const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));
const writeJson = (f: string, v: unknown) => replaceFile(f, JSON.stringify(v));
const mutateFile = (f: string, fn: (b: Buffer) => Buffer) => replaceFile(f, fn(fs.readFileSync(f)));

function tinyConvs(channels: number[], seed: number): TinyConv[] {
  const r = vggRng(seed);
  const names = ['conv1_1', 'conv1_2', 'conv2_1', 'conv2_2', 'conv3_1'];
  let inC = 3;
  return channels.map((outC, i) => {
    const c = {
      name: names[i],
      kernel: Float32Array.from({ length: 9 * inC * outC }, () => r() - 0.5),
      bias: Float32Array.from({ length: outC }, () => r() - 0.5),
      inChannels: inC,
      outChannels: outC,
    };
    inC = outC;
    return c;
  });
}

function kerasCases(rng: Rng): VggCase[] {
  const out: VggCase[] = [];
  const real = (kind: string, fn: (dir: string, outside: string) => void): VggCase => ({
    kind: `real/${kind}`,
    master: 'real',
    prepare: (dir, outside) => {
      fn(dir, outside);
      return dir;
    },
  });
  const syn = (kind: string, fn: (dir: string, outside: string) => void): VggCase => ({
    kind: `keras/${kind}`,
    master: 'synthetic',
    prepare: (dir, outside) => {
      fn(dir, outside);
      return dir;
    },
  });
  out.push(real('valid', () => undefined));
  for (const shard of ['group1-shard1of1', 'group8-shard1of1']) {
    out.push(
      real('shard-truncated', (d) => mutateFile(path.join(d, shard), (b) => truncateAt(b, rng.int(0, b.length - 1)))),
    );
    out.push(
      real('shard-extended', (d) => mutateFile(path.join(d, shard), (b) => Buffer.concat([b, Buffer.alloc(8)]))),
    );
    out.push(real('shard-missing', (d) => replaceFile(path.join(d, shard), { remove: true })));
  }
  out.push(real('shard-is-a-folder', (d) => replaceFile(path.join(d, 'group2-shard1of1'), { dir: true })));
  out.push(
    real('shard-nan', (d) =>
      mutateFile(path.join(d, 'group3-shard1of1'), (b) => {
        const o = Buffer.from(b);
        o.writeFloatLE(NaN, 400);
        return o;
      }),
    ),
  );
  out.push(real('shard-bitflip', (d) => mutateFile(path.join(d, 'group1-shard1of1'), (b) => flipBits(b, rng, 3))));
  out.push(
    real('shard-symlink-outside', (d, o) =>
      replaceFile(path.join(d, 'group1-shard1of1'), { link: path.join(o, 'decoy.png') }),
    ),
  );
  out.push(
    real('model.json-symlink-outside', (d, o) =>
      replaceFile(path.join(d, 'model.json'), { link: path.join(o, 'model.json') }),
    ),
  );
  for (const cut of [0, 100, 4000, 7787])
    out.push(real('model.json-truncated', (d) => mutateFile(path.join(d, 'model.json'), (b) => truncateAt(b, cut))));

  const base = {
    modelTopology: {},
    weightsManifest: [
      {
        paths: ['group1-shard1of1'],
        weights: [{ name: 'block1_conv1/kernel', shape: [3, 3, 3, 4], dtype: 'float32' }],
      },
    ],
  };
  out.push(syn('valid', () => undefined));
  for (const [kind, text] of textVariants(JSON.stringify(base), rng))
    out.push(syn(`model.json/${kind}`, (d) => replaceFile(path.join(d, 'model.json'), text)));
  const fields: (string | number)[][] = [
    ['weightsManifest'],
    ['weightsManifest', 0],
    ['weightsManifest', 0, 'paths'],
    ['weightsManifest', 0, 'paths', 0],
    ['weightsManifest', 0, 'weights'],
    ['weightsManifest', 0, 'weights', 0, 'name'],
    ['weightsManifest', 0, 'weights', 0, 'shape'],
    ['weightsManifest', 0, 'weights', 0, 'shape', 3],
    ['weightsManifest', 2, 'weights', 1, 'dtype'],
    ['weightsManifest', 1, 'weights', 0, 'quantization'],
  ];
  for (const f of fields) {
    for (const [kind, v] of HOSTILE_VALUES.filter((_, k) => k !== 12 || f.length < 4)) {
      out.push(
        syn(`model.json/${f.filter((x) => typeof x === 'string').join('.')}=${kind}`, (d) => {
          const p = path.join(d, 'model.json');
          writeJson(p, setAt(readJson(p), f, v));
        }),
      );
    }
  }
  for (const p of [
    '../../outside/decoy.png',
    '/etc/passwd',
    '..',
    '',
    'group1-shard1of1/../group2-shard1of1',
    'sub/group1-shard1of1',
  ]) {
    out.push(
      syn('model.json/path-escapes', (d) => {
        const m = path.join(d, 'model.json');
        writeJson(m, setAt(readJson(m), ['weightsManifest', 0, 'paths', 0], p));
      }),
    );
  }
  out.push(
    syn('model.json/groups-reordered', (d) => {
      const m = path.join(d, 'model.json');
      const j = readJson(m);
      j.weightsManifest.reverse();
      writeJson(m, j);
    }),
  );
  out.push(
    syn('model.json/conv-skipped', (d) => {
      const m = path.join(d, 'model.json');
      const j = readJson(m);
      j.weightsManifest.splice(1, 1);
      writeJson(m, j);
    }),
  );
  out.push(
    syn('model.json/conv-twice', (d) => {
      const m = path.join(d, 'model.json');
      const j = readJson(m);
      j.weightsManifest.push(j.weightsManifest[0]);
      writeJson(m, j);
    }),
  );
  out.push(
    syn('model.json/bias-missing', (d) => {
      const m = path.join(d, 'model.json');
      const j = readJson(m);
      j.weightsManifest[0].weights.pop();
      writeJson(m, j);
    }),
  );
  out.push(
    syn('model.json/channels-do-not-chain', (d) => {
      const m = path.join(d, 'model.json');
      const j = readJson(m);
      j.weightsManifest[1].weights[0].shape = [3, 3, 5, 4];
      writeJson(m, j);
    }),
  );
  out.push(
    syn('model.json/kernel-5x5', (d) => {
      const m = path.join(d, 'model.json');
      const j = readJson(m);
      j.weightsManifest[0].weights[0].shape = [5, 5, 3, 4];
      writeJson(m, j);
    }),
  );
  out.push(
    syn('model.json/huge', (d) =>
      replaceFile(path.join(d, 'model.json'), `{"weightsManifest": [], "pad": "${'x'.repeat(33 * 1024 * 1024)}"}`),
    ),
  );
  out.push(
    syn('shard-inf', (d) =>
      mutateFile(path.join(d, 'group2-shard1of1'), (b) => {
        const o = Buffer.from(b);
        o.writeFloatLE(Infinity, 0);
        return o;
      }),
    ),
  );
  out.push(
    syn('shard-symlink-outside', (d, o) =>
      replaceFile(path.join(d, 'group1-shard1of1'), { link: path.join(o, 'decoy.png') }),
    ),
  );
  out.push(syn('folder-without-model', (d) => replaceFile(path.join(d, 'model.json'), { remove: true })));
  return out;
}

function matCases(rng: Rng): VggCase[] {
  const out: VggCase[] = [];
  const bases: [string, Buffer][] = [
    ['le', writeVggMat(tinyConvs([4, 4, 4, 4, 4], 1))],
    ['be', writeVggMat(tinyConvs([3, 3, 2], 2), { bigEndian: true })],
    ['compressed-new-layout', writeVggMat(tinyConvs([4, 4, 4], 3), { compress: true, layout: 'new' })],
  ];
  const mat = (kind: string, bytes: Buffer, name = 'imagenet-vgg-verydeep-19.mat'): VggCase => ({
    kind: `mat/${kind}`,
    master: 'none',
    prepare: (dir) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, bytes);
      return f;
    },
  });
  for (const [label, b] of bases) {
    out.push(mat(`${label}/valid`, b));
    for (const cut of [0, 10, 127, 128, 136, 200, Math.floor(b.length / 2), b.length - 8, b.length - 1])
      out.push(mat(`${label}/truncated`, truncateAt(b, cut)));
    for (let k = 0; k < 8; k++) out.push(mat(`${label}/bitflip`, flipBits(b, rng, 1 + (k % 4), 128)));
    for (let k = 0; k < 4; k++) out.push(mat(`${label}/overwrite`, overwrite(b, rng, 8, 128)));
    for (let k = 0; k < 4; k++) out.push(mat(`${label}/interesting`, interesting(b, rng, 128)));
  }
  const le = bases[0][1];
  const header = (text: string) => {
    const o = Buffer.from(le);
    o.fill(0x20, 0, 116);
    o.write(text, 0, 'latin1');
    return o;
  };
  out.push(mat('header/v7.3', header('MATLAB 7.3 MAT-file')));
  out.push(mat('header/not-matlab', header('Octave text file')));
  out.push(
    mat(
      'header/endian-xx',
      (() => {
        const o = Buffer.from(le);
        o.write('XX', 126, 'latin1');
        return o;
      })(),
    ),
  );
  out.push(
    mat(
      'header/version-0x0200',
      (() => {
        const o = Buffer.from(le);
        o.writeUInt16LE(0x0200, 124);
        return o;
      })(),
    ),
  );
  out.push(
    mat(
      'tag/length-lie',
      (() => {
        const o = Buffer.from(le);
        o.writeUInt32LE(0x7ffffff0, 132);
        return o;
      })(),
    ),
  );
  out.push(
    mat(
      'tag/type-lie',
      (() => {
        const o = Buffer.from(le);
        o.writeUInt32LE(99, 128);
        return o;
      })(),
    ),
  );
  out.push(mat('not-a-mat/png-bytes', Buffer.from('\x89PNG\r\n\x1a\n'.padEnd(300, '\0'), 'latin1')));
  out.push(mat('name/uppercase-extension', le, 'VGG.MAT'));
  out.push({
    kind: 'mat/folder-with-one-mat',
    master: 'none',
    prepare: (dir) => {
      const d = path.join(dir, 'weights');
      fs.mkdirSync(d);
      fs.writeFileSync(path.join(d, 'x.mat'), le);
      return d;
    },
  });
  out.push({
    kind: 'mat/folder-with-two-mats',
    master: 'none',
    prepare: (dir) => {
      const d = path.join(dir, 'weights');
      fs.mkdirSync(d);
      fs.writeFileSync(path.join(d, 'a.mat'), le);
      fs.writeFileSync(path.join(d, 'b.mat'), le);
      return d;
    },
  });
  out.push({
    kind: 'mat/folder-with-mat-folder',
    master: 'none',
    prepare: (dir) => {
      const d = path.join(dir, 'weights');
      fs.mkdirSync(path.join(d, 'x.mat'), { recursive: true });
      return d;
    },
  });
  out.push({
    kind: 'mat/unknown-extension',
    master: 'none',
    prepare: (dir) => {
      const f = path.join(dir, 'weights.h5');
      fs.writeFileSync(f, le);
      return f;
    },
  });
  out.push({ kind: 'mat/missing', master: 'none', prepare: (dir) => path.join(dir, 'nothing.mat') });
  return out;
}

export const family: Family = {
  name: 'vgg',
  async build(env) {
    await initTfjsBackend('cpu');
    const realMaster = path.join(env.dir, 'real');
    copyTree(shared('vgg19-keras-block1-3'), realMaster);
    const synMaster = path.join(env.dir, 'synthetic');
    writeKerasFolder(synMaster, syntheticVggWeights([4, 4, 4, 4, 4], 5));
    const rng = new Rng(seedOf('vgg'));
    const all = [...kerasCases(rng), ...matCases(rng)];
    const inputs: FuzzInput[] = all.map((c) => {
      let target = '';
      return {
        kind: c.kind,
        prepare(ctx) {
          const dir = path.join(ctx.dir, 'vgg');
          if (c.master !== 'none') linkTree(c.master === 'real' ? realMaster : synMaster, dir);
          else fs.mkdirSync(dir);
          target = c.prepare(dir, env.outside);
        },
        async run(): Promise<RunResult> {
          const loaded = await loadVggWeights(target);
          if (c.master === 'real') return { note: 'ok' };
          // A loss-network forward pass over the layers the weights provide (tensors counted).
          const vgg = Vgg19.fromWeights(loaded.weights);
          try {
            const x = tf.fill([1, 8, 8, 3], 128) as unknown as Parameters<Vgg19['features']>[0];
            const feats = vgg.features(
              x,
              loaded.availableLayers.filter((l) => l.startsWith('relu')),
            );
            x.dispose();
            for (const t of Object.values(feats)) t.dispose();
          } finally {
            vgg.dispose();
          }
          return { note: 'ok' };
        },
      };
    });
    return { inputs, usesTfjs: true };
  },
};
