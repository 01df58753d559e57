// Hostile ml5 / deeplearn.js folders (manifest.json + one raw float32 file per variable)
// through the importer and, when one loads, the stylize path: manifests malformed, with
// wrong shapes, missing or extra variables, file names that climb out of the folder or are
// absolute; variable files cut short, extended, holding NaN, missing, folders, or symbolic
// links to files outside the folder.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { readMl5Folder } from '../../../src/io/ml5Import';
import { createStylizeEngine } from '../../../src/engine/stylize/engines';
import type { Family, FuzzInput } from '../lib/family';
import { HOSTILE_VALUES, setAt, textVariants } from '../lib/jsonMutate';
import { Rng, seedOf } from '../lib/prng';
import { copyTree, linkTree, replaceFile } from '../lib/tree';
import { shared } from '../../helpers/paths';
import { stylizeAndCheck } from './images';

interface Ml5Case {
  readonly kind: string;
  mutate(dir: string, manifest: Record<string, { filename: string; shape: number[] }>, outside: string): void;
}

function cases(rng: Rng): Ml5Case[] {
  const out: Ml5Case[] = [{ kind: 'valid', mutate: () => undefined }];
  const writeManifest = (dir: string, m: unknown) => replaceFile(path.join(dir, 'manifest.json'), JSON.stringify(m));
  for (const [kind, text] of textVariants(
    JSON.stringify({ Variable: { filename: 'Variable', shape: [9, 9, 3, 32] } }),
    rng,
  ).slice(0, 14)) {
    out.push({ kind: `manifest/${kind}`, mutate: (dir) => replaceFile(path.join(dir, 'manifest.json'), text) });
  }
  for (const v of ['Variable', 'Variable_1', 'Variable_25', 'Variable_47']) {
    for (const field of ['filename', 'shape']) {
      for (const [kind, value] of HOSTILE_VALUES.filter((_, k) => k % 2 === 0 || field === 'filename')) {
        out.push({
          kind: `manifest/${field}=${kind}`,
          mutate: (dir, m) => writeManifest(dir, setAt(m, [v, field], value)),
        });
      }
    }
    out.push({
      kind: 'manifest/entry-missing',
      mutate: (dir, m) => {
        const c = { ...m };
        delete c[v];
        writeManifest(dir, c);
      },
    });
  }
  for (const name of [
    '../../../outside/Variable',
    '../Variable',
    '/etc/passwd',
    '..',
    '.',
    'Variable/..',
    'sub/../../Variable',
    '\u0000Variable',
    'C:\\Windows\\win.ini',
  ]) {
    out.push({
      kind: 'manifest/filename-escapes',
      mutate: (dir, m) => writeManifest(dir, setAt(m, ['Variable', 'filename'], name)),
    });
  }
  out.push({
    kind: 'manifest/extra-variable',
    mutate: (dir, m) => writeManifest(dir, { ...m, Variable_48: { filename: 'Variable_1', shape: [32] } }),
  });
  out.push({
    kind: 'manifest/swapped-same-shape',
    mutate: (dir, m) => writeManifest(dir, { ...m, Variable_1: m.Variable_2, Variable_2: m.Variable_1 }),
  });
  out.push({
    kind: 'manifest/shape-transposed',
    mutate: (dir, m) => writeManifest(dir, setAt(m, ['Variable', 'shape'], [32, 3, 9, 9])),
  });
  for (const v of ['Variable', 'Variable_1', 'Variable_12', 'Variable_47']) {
    out.push({
      kind: 'variable/truncated',
      mutate: (dir) => {
        const f = path.join(dir, v);
        const b = fs.readFileSync(f);
        replaceFile(f, b.subarray(0, rng.int(0, b.length - 1)));
      },
    });
    out.push({
      kind: 'variable/extended',
      mutate: (dir) => {
        const f = path.join(dir, v);
        replaceFile(f, Buffer.concat([fs.readFileSync(f), Buffer.alloc(4)]));
      },
    });
    out.push({
      kind: 'variable/nan',
      mutate: (dir) => {
        const f = path.join(dir, v);
        const b = Buffer.from(fs.readFileSync(f));
        b.writeFloatLE(NaN, 4 * rng.int(0, b.length / 4 - 1));
        replaceFile(f, b);
      },
    });
    out.push({
      kind: 'variable/inf',
      mutate: (dir) => {
        const f = path.join(dir, v);
        const b = Buffer.from(fs.readFileSync(f));
        b.writeFloatLE(-Infinity, 0);
        replaceFile(f, b);
      },
    });
    out.push({
      kind: 'variable/bitflip',
      mutate: (dir) => {
        const f = path.join(dir, v);
        const b = Buffer.from(fs.readFileSync(f));
        b[rng.int(0, b.length - 1)] ^= 1 << rng.int(0, 7);
        replaceFile(f, b);
      },
    });
    out.push({ kind: 'variable/missing', mutate: (dir) => replaceFile(path.join(dir, v), { remove: true }) });
    out.push({ kind: 'variable/is-a-folder', mutate: (dir) => replaceFile(path.join(dir, v), { dir: true }) });
  }
  // A variable file that is a link to a same-sized file outside the folder: following it would
  // copy bytes from anywhere on disk into a style (and from there into exports).
  out.push({
    kind: 'variable/symlink-outside',
    mutate: (dir, _m, outside) => replaceFile(path.join(dir, 'Variable'), { link: path.join(outside, 'Variable') }),
  });
  out.push({
    kind: 'variable/symlink-outside-relative',
    mutate: (dir, _m, outside) =>
      replaceFile(path.join(dir, 'Variable'), { link: path.relative(dir, path.join(outside, 'Variable')) }),
  });
  out.push({
    kind: 'variable/symlink-inside',
    mutate: (dir) => {
      fs.copyFileSync(path.join(dir, 'Variable'), path.join(dir, 'copy-of-variable'));
      replaceFile(path.join(dir, 'Variable'), { link: 'copy-of-variable' });
    },
  });
  out.push({
    kind: 'manifest/symlink-outside',
    mutate: (dir, _m, outside) =>
      replaceFile(path.join(dir, 'manifest.json'), { link: path.join(outside, 'model.json') }),
  });
  out.push({
    kind: 'folder/missing-manifest',
    mutate: (dir) => replaceFile(path.join(dir, 'manifest.json'), { remove: true }),
  });
  return out;
}

export const family: Family = {
  name: 'ml5',
  async build(env) {
    const master = path.join(env.dir, 'master');
    copyTree(shared('pretrained', 'udnie'), master);
    const manifest = JSON.parse(fs.readFileSync(path.join(master, 'manifest.json'), 'utf8'));
    const cacheDir = path.join(env.dir, 'cache');
    const engine = await createStylizeEngine({ runtime: 'onnx', cacheDir, threads: 1 });
    const photo = await sharp({ create: { width: 12, height: 8, channels: 3, background: '#508030' } })
      .png()
      .toBuffer();
    const inputs: FuzzInput[] = cases(new Rng(seedOf('ml5'))).map((c) => ({
      kind: c.kind,
      prepare(ctx) {
        const dir = path.join(ctx.dir, 'style');
        linkTree(master, dir);
        c.mutate(dir, manifest, env.outside);
        fs.writeFileSync(path.join(ctx.dir, 'photo.png'), photo);
      },
      async run(ctx) {
        const dir = path.join(ctx.dir, 'style');
        await readMl5Folder(dir);
        return stylizeAndCheck(engine, dir, path.join(ctx.dir, 'photo.png'), {}, ctx.dir);
      },
    }));
    return {
      inputs,
      writeRoots: [cacheDir],
      async dispose() {
        engine.dispose();
      },
    };
  },
};
