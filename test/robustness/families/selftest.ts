// Inputs that misbehave on purpose, one per way the runner must catch: only run when
// FST_ROBUSTNESS_SELFTEST=1 (test/robustness/harness.test.ts checks the counts they produce).
import fs from 'node:fs';
import path from 'node:path';
import { tf } from '../../../src/model/tf';
import { initTfjsBackend } from '../../../src/engine/tfjs/backends';
import { StyleTransferError } from '../../../src/protocol/errors';
import type { Family, FuzzInput } from '../lib/family';

export const family: Family = {
  name: 'selftest',
  async build(env) {
    await initTfjsBackend('cpu');
    const inputs: FuzzInput[] = [
      {
        kind: 'handled',
        run: async () => {
          throw new StyleTransferError('bad-image', 'refused clearly');
        },
      },
      {
        kind: 'type-error',
        run: async () => {
          (null as unknown as { x: number }).x = 1;
          return {};
        },
      },
      {
        kind: 'internal',
        run: async () => {
          throw new StyleTransferError('internal', 'a bug');
        },
      },
      {
        kind: 'temp-file',
        run: async (ctx) => {
          fs.writeFileSync(path.join(ctx.dir, '.photo.png.abc.tmp'), 'x');
          return {};
        },
      },
      {
        kind: 'unexpected-file',
        run: async (ctx) => {
          fs.writeFileSync(path.join(ctx.dir, 'stray.png'), 'x');
          return {};
        },
      },
      {
        kind: 'original-changed',
        prepare: (ctx) => fs.writeFileSync(path.join(ctx.dir, 'photo.png'), 'a'),
        run: async (ctx) => {
          fs.writeFileSync(path.join(ctx.dir, 'photo.png'), 'b');
          return {};
        },
      },
      {
        kind: 'write-outside',
        run: async () => {
          fs.writeFileSync(path.join(env.outside, 'secrets', 'planted.txt'), 'x');
          return {};
        },
      },
      {
        kind: 'read-outside',
        run: async () => {
          fs.readFileSync(path.join(env.outside, 'secrets', 'token.txt'));
          return {};
        },
      },
      {
        kind: 'leak',
        run: async () => {
          tf.zeros([2, 2]);
          return {};
        },
      },
      {
        kind: 'native-crash',
        run: async () => {
          process.kill(process.pid, 'SIGSEGV');
          await new Promise((r) => setTimeout(r, 10_000));
          return {};
        },
      },
      {
        kind: 'hang',
        run: async () => {
          for (;;) {
            /* a decoder stuck in a loop */
          }
        },
      },
      { kind: 'handled-after-restart', run: async () => ({ note: 'ok' }) },
    ];
    return { inputs, usesTfjs: true };
  },
};
