// Interrupted and obstructed writes (issue 15):
//  - a kill at EVERY step of a checkpoint write: the file system freezes after the n-th file
//    operation (every later one fails, the clean-up included, as in a process that died), for
//    every n from 0 to the number of operations a write makes, both replacing a checkpoint and
//    creating one. Afterwards, as a fresh process would, the style must load (`fst info`,
//    stylize: loadStyle and readStyleInfo, without --resume) with the old or the new weights,
//    and the next save must succeed and leave no `.writing-` / `.previous` leftovers;
//  - occupied output names (a file, a dangling link, a link out of the folder, a FIFO, a folder
//    under the name stylize would use) and output folders that are not folders;
//  - a checkpoint target that is a link (dangling, or to another checkpoint): refused, the link
//    left as it was, nothing written through it.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { readStyleInfo, writeCheckpoint } from '../../../src/io/checkpoint';
import { initTfjsBackend } from '../../../src/engine/tfjs/backends';
import { createStylizeEngine } from '../../../src/engine/stylize/engines';
import { loadStyle } from '../../../src/engine/styles';
import { stylizeFiles } from '../../../src/engine/stylize/stylizeJob';
import { CrashError, checkErrorInfos, type Family, type FuzzInput, type RunResult } from '../lib/family';
import { TINY_ARCH, seededWeights, tinyStyleInfo, writeTinyStyle } from '../lib/styles';
import { runFst } from '../../helpers/cli';
import { shared } from '../../helpers/paths';
import { runKilledAfter } from '../../helpers/freezeFs';
import { SPECIAL_KINDS, plantSpecial, unblockFifo, within } from '../../helpers/specialFiles';

export const family: Family = {
  name: 'writes',
  async available() {
    return process.platform === 'win32' ? 'needs mkfifo and /dev/zero' : true;
  },
  async build(env) {
    await initTfjsBackend('cpu');
    const info = (name: string) => tinyStyleInfo(name);
    const [oldW, newW, nextW] = [seededWeights(TINY_ARCH, 1), seededWeights(TINY_ARCH, 2), seededWeights(TINY_ARCH, 3)];
    // The steps of one write, counted on a dry run (replacing, which has the most).
    const dry = path.join(env.dir, 'dry', 'ck');
    await writeCheckpoint(dry, info('dry'), oldW, { extraFiles: { 'thumbnail.jpg': Buffer.from('t') } });
    const steps = await runKilledAfter(Number.POSITIVE_INFINITY, () =>
      writeCheckpoint(dry, info('dry'), newW, { extraFiles: { 'thumbnail.jpg': Buffer.from('t') } }),
    );
    const hashes = new Map<string, string>();
    for (const [k, w] of [
      ['old', oldW],
      ['new', newW],
    ] as const) {
      const d = path.join(env.dir, 'dry', k);
      await writeCheckpoint(d, info(k), w);
      hashes.set((await loadStyle(d)).hash, k);
    }

    const inputs: FuzzInput[] = [];
    for (const replacing of [true, false]) {
      for (let n = 0; n <= steps; n++) {
        inputs.push({
          kind: `kill-during-checkpoint-write/${replacing ? 'replacing' : 'creating'}`,
          async prepare(ctx) {
            if (replacing)
              await writeCheckpoint(path.join(ctx.dir, 'ck'), info('old'), oldW, {
                extraFiles: { 'thumbnail.jpg': Buffer.from('t') },
              });
          },
          async run(ctx): Promise<RunResult> {
            const dir = path.join(ctx.dir, 'ck');
            await runKilledAfter(n, () =>
              writeCheckpoint(dir, info('new'), newW, { extraFiles: { 'thumbnail.jpg': Buffer.from('t') } }),
            );
            // A fresh process: `fst info` and stylize load the style without --resume.
            let found: string | undefined;
            try {
              // loadStyle first: it is what `fst info` and stylize call (readStyleInfo repairs a swap, and would hide it).
              found = hashes.get((await loadStyle(dir)).hash);
              await readStyleInfo(dir);
              if (!found)
                throw new CrashError(
                  `after a kill at step ${n} of ${steps}, ${dir} holds weights that are neither the old nor the new ones`,
                );
            } catch (e) {
              if (e instanceof CrashError) throw e;
              if (replacing)
                throw new CrashError(
                  `after a kill at step ${n} of ${steps} of replacing a checkpoint, it does not load: ${(e as Error).message}`,
                );
            }
            // The next save works and leaves nothing behind (the runner checks for leftovers).
            await writeCheckpoint(dir, info('next'), nextW);
            if ((await loadStyle(dir)).info?.name !== 'next') throw new CrashError('the next save did not take');
            return {
              note: found ?? 'absent',
              mayChange: ['ck'],
              outputs: ['ck/model.json', 'ck/weights.bin', 'ck/style.json'],
            };
          },
        });
      }
    }

    // Occupied output names: stylize picks a fresh name, writes nothing through a link, changes nothing there.
    const style = await writeTinyStyle(path.join(env.dir, 'style'), 'mine');
    const cacheDir = path.join(env.dir, 'cache');
    const engine = await createStylizeEngine({ runtime: 'onnx', cacheDir, threads: 1 });
    const photo = await sharp({ create: { width: 9, height: 7, channels: 3, background: '#806040' } })
      .png()
      .toBuffer();
    for (const kind of SPECIAL_KINDS) {
      for (const both of [false, true]) {
        let fifos: string[] = [];
        inputs.push({
          kind: `output-name-occupied/${kind}${both ? '/and-the-next' : ''}`,
          prepare(ctx) {
            fs.writeFileSync(path.join(ctx.dir, 'photo.png'), photo);
            fifos = [];
            for (const name of both ? ['photo.mine.png', 'photo.mine-2.png'] : ['photo.mine.png']) {
              const f = plantSpecial(path.join(ctx.dir, name), kind, path.join(env.outside, 'decoy.png'));
              if (f) fifos.push(f);
            }
          },
          async run(ctx) {
            try {
              const r = await within(
                30_000,
                `stylize beside a ${kind}`,
                stylizeFiles({ inputs: [path.join(ctx.dir, 'photo.png')], style, options: {} }, engine, {}),
              );
              const code = checkErrorInfos(r.failures.map((f) => f.error));
              return { outputs: r.outputs.map((o) => path.relative(ctx.dir, o.output)), note: code ?? 'ok' };
            } finally {
              fifos.forEach(unblockFifo);
            }
          },
        });
      }
    }
    // Output folders that cannot be folders.
    for (const [kind, make] of [
      [
        'is-a-file',
        (d: string) => {
          fs.writeFileSync(path.join(d, 'out'), 'x');
          return path.join(d, 'out');
        },
      ],
      [
        'under-a-file',
        (d: string) => {
          fs.writeFileSync(path.join(d, 'out'), 'x');
          return path.join(d, 'out', 'sub');
        },
      ],
      [
        'is-a-fifo',
        (d: string) => {
          plantSpecial(path.join(d, 'out'), 'fifo', '');
          return path.join(d, 'out');
        },
      ],
      [
        'is-a-dangling-link',
        (d: string) => {
          plantSpecial(path.join(d, 'out'), 'dangling-link', '');
          return path.join(d, 'out');
        },
      ],
    ] as const) {
      let outDir = '';
      inputs.push({
        kind: `output-folder/${kind}`,
        prepare(ctx) {
          fs.writeFileSync(path.join(ctx.dir, 'photo.png'), photo);
          outDir = make(ctx.dir);
        },
        async run(ctx) {
          try {
            const r = await within(
              30_000,
              `stylize into ${kind}`,
              stylizeFiles({ inputs: [path.join(ctx.dir, 'photo.png')], style, options: { outDir } }, engine, {}),
            );
            const code = checkErrorInfos(r.failures.map((f) => f.error));
            if (r.outputs.length)
              throw new CrashError(`stylize wrote ${r.outputs[0].output} into an output folder that ${kind}`);
            return { note: code ?? 'ok' };
          } finally {
            unblockFifo(path.join(ctx.dir, 'out'));
          }
        },
      });
    }
    // A checkpoint target that is a link: `fst export -o` and `fst import -o` refuse it and leave it.
    const ml5 = shared('pretrained', 'udnie');
    for (const [kind, target] of [
      ['dangling-link', () => 'nowhere'],
      ['link-to-checkpoint', () => style],
      ['link-outside', () => env.outside],
    ] as const) {
      for (const cmd of ['export', 'import'] as const) {
        inputs.push({
          kind: `checkpoint-target/${cmd}/${kind}`,
          prepare(ctx) {
            fs.symlinkSync(target(), path.join(ctx.dir, 'target'));
          },
          async run(ctx) {
            const r = await runFst([cmd, cmd === 'import' ? ml5 : style, '-o', path.join(ctx.dir, 'target')]);
            if (r.code === 0)
              throw new CrashError(
                `fst ${cmd} -o <${kind}> succeeded: ${fs.lstatSync(path.join(ctx.dir, 'target')).isSymbolicLink() ? 'wrote through the link' : 'replaced the link'}`,
              );
            if (r.stderr.split('\n').length !== 1)
              throw new CrashError(`fst ${cmd} said more than one line: ${r.stderr}`);
            return { note: `exit-${r.code}` };
          },
        });
      }
    }
    return {
      inputs,
      writeRoots: [cacheDir, style],
      readRoots: [ml5],
      async dispose() {
        engine.dispose();
      },
    };
  },
};
