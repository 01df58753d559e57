// The file-access layer (src/io/fileAccess.ts) and every loader that reads through it: links out
// of the folder, dangling links, FIFOs, links to /dev/zero and folders in place of each file a
// checkpoint, an ml5 folder, a VGG folder or .mat, and resume state are made of. Each is one
// clear error, in well under a second; before the layer, a FIFO or /dev/zero made `fst info`,
// `stylize` and `export` hang forever. Every case runs under a deadline, and FIFOs are
// unblocked afterwards, so a regression fails here instead of hanging the test run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FileAccessError, readFileInFolder, readRegularFile } from '../../src/io/fileAccess';
import { readCheckpoint, readStyleInfo, writeCheckpoint } from '../../src/io/checkpoint';
import { readTrainingState, trainingStateFiles } from '../../src/io/trainingState';
import { readMl5Folder } from '../../src/io/ml5Import';
import { loadVggWeights } from '../../src/io/vggWeights';
import { StyleTransferError } from '../../src/protocol/errors';
import { readStyleSummary } from '../../src/services/styleStore';
import { downloadFile } from '../../src/io/download';
import { PAPER_ARCHITECTURE, paramSpecs, sizeOfShape } from '../../src/model/architecture';
import { tempDir } from '../helpers/paths';
import { runFst } from '../helpers/cli';
import {
  SPECIAL_KINDS,
  plantSpecial,
  specialFilesSupported,
  unblockFifo,
  within,
  type SpecialKind,
} from '../helpers/specialFiles';
import { syntheticVggWeights, writeKerasFolder } from '../helpers/vggFixtures';
import { writeVggMat } from '../helpers/matWriter';
import { TINY_ARCH, seededWeights, writeTinyStyle } from '../robustness/lib/styles';

const skip = specialFilesSupported ? false : 'needs mkfifo and /dev/zero';
const DEADLINE_MS = 5000;

/** Plants each kind at `file` (restored from `original` afterwards) and expects `load` to refuse it with `code`. */
async function refusesEverySpecial(
  file: string,
  outsideFile: string,
  code: string,
  load: () => Promise<unknown>,
): Promise<void> {
  const original = fs.readFileSync(file);
  for (const kind of SPECIAL_KINDS) {
    const fifo = plantSpecial(file, kind, outsideFile);
    try {
      await assert.rejects(
        within(DEADLINE_MS, `${path.basename(file)} as ${kind}`, Promise.resolve().then(load)),
        (e: unknown) => {
          assert.ok(
            e instanceof StyleTransferError,
            `${path.basename(file)} as ${kind}: expected a StyleTransferError, got ${(e as Error)?.stack ?? e}`,
          );
          assert.equal(e.code, code, `${path.basename(file)} as ${kind}: ${e.message}`);
          assert.doesNotMatch(e.message, /\n/, 'one line');
          return true;
        },
      );
    } finally {
      if (fifo) unblockFifo(fifo);
      fs.rmSync(file, { recursive: true, force: true });
      fs.writeFileSync(file, original);
    }
  }
  await load().catch((e) => {
    if (code === 'ok') throw e;
  }); // the restored folder is readable again (when it was)
}

test(
  'readFileInFolder reads regular files (and links inside the folder) and refuses everything else before reading',
  { skip, timeout: 30_000 },
  async () => {
    const root = tempDir('fst-access-');
    const dir = path.join(root, 'style');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(root, 'secret'), 'secret');
    fs.writeFileSync(path.join(dir, 'a.bin'), 'hello');
    fs.symlinkSync('a.bin', path.join(dir, 'inside-link'));
    assert.equal((await readFileInFolder(dir, 'a.bin', 5)).toString(), 'hello');
    assert.equal((await readFileInFolder(dir, 'inside-link', 5)).toString(), 'hello');
    const expectCode = async (name: string, code: string, max = 100) => {
      await assert.rejects(within(DEADLINE_MS, name, readFileInFolder(dir, name, max)), (e: unknown) => {
        assert.equal((e as { code?: string }).code, code, `${name}: ${(e as Error).message}`);
        return true;
      });
    };
    await expectCode('a.bin', 'EFBIG', 4);
    await expectCode('missing', 'ENOENT');
    for (const name of ['../secret', '/etc/passwd', '', '.', '..', 'a\u0000b', 'sub/a.bin'])
      await expectCode(name, 'EBADNAME');
    const expected: Record<SpecialKind, string> = {
      'link-outside': 'EOUTSIDE',
      'dangling-link': 'ENOTREG',
      fifo: 'ENOTREG',
      'dev-zero-link': 'EOUTSIDE',
      folder: 'ENOTREG',
    };
    for (const kind of SPECIAL_KINDS) {
      const fifo = plantSpecial(path.join(dir, kind), kind, path.join(root, 'secret'));
      try {
        await expectCode(kind, expected[kind]);
      } finally {
        if (fifo) unblockFifo(fifo);
      }
    }
    // A link inside the folder to a FIFO is still a FIFO.
    fs.symlinkSync('fifo', path.join(dir, 'link-to-fifo'));
    await expectCode('link-to-fifo', 'ENOTREG');
    // A path the user gave directly: their own link is followed, a FIFO or /dev/zero is not read.
    fs.symlinkSync(path.join(root, 'secret'), path.join(root, 'my-link'));
    assert.equal((await readRegularFile(path.join(root, 'my-link'), 10)).toString(), 'secret');
    for (const p of [path.join(dir, 'fifo'), '/dev/zero', dir]) {
      await assert.rejects(
        within(DEADLINE_MS, p, readRegularFile(p, 1 << 20)),
        (e: unknown) => e instanceof FileAccessError && e.code === 'ENOTREG',
      );
    }
  },
);

test(
  'a checkpoint refuses a link, FIFO, /dev/zero or folder in place of style.json, model.json, weights.bin and the resume state',
  { skip, timeout: 120_000 },
  async () => {
    const root = tempDir('fst-access-');
    const outside = path.join(root, 'outside.bin');
    const dir = await writeTinyStyle(path.join(root, 'ck'));
    fs.copyFileSync(path.join(dir, 'weights.bin'), outside);
    for (const name of ['style.json', 'model.json', 'weights.bin']) {
      await refusesEverySpecial(path.join(dir, name), outside, 'bad-checkpoint', () => readCheckpoint(dir));
    }
    await refusesEverySpecial(path.join(dir, 'style.json'), outside, 'bad-checkpoint', () => readStyleInfo(dir));
    // Resume state (training-state.json, optimizer.bin).
    const adam = {
      step: 2,
      m: new Map(paramSpecs(TINY_ARCH).map((p) => [p.name, new Float32Array(sizeOfShape(p.shape))])),
      v: new Map(paramSpecs(TINY_ARCH).map((p) => [p.name, new Float32Array(sizeOfShape(p.shape))])),
    };
    const now = new Date(0).toISOString();
    await writeCheckpoint(
      dir,
      { name: 'r', architecture: TINY_ARCH, source: { kind: 'trained' }, iteration: 2, createdAt: now, updatedAt: now },
      seededWeights(TINY_ARCH, 1),
      {
        extraFiles: trainingStateFiles(
          TINY_ARCH,
          { iteration: 2, dataFiles: ['a.png'], dataDir: root, styleImage: 'style.png', hyperparameters: {} } as never,
          adam,
        ),
      },
    );
    await readTrainingState(dir, TINY_ARCH);
    for (const name of ['training-state.json', 'optimizer.bin']) {
      await refusesEverySpecial(path.join(dir, name), outside, 'bad-checkpoint', () =>
        readTrainingState(dir, TINY_ARCH),
      );
    }
  },
);

test(
  'an ml5 folder refuses a link, FIFO, /dev/zero or folder in place of manifest.json and of a variable file',
  { skip, timeout: 60_000 },
  async () => {
    const root = tempDir('fst-access-');
    const dir = path.join(root, 'ml5');
    fs.mkdirSync(dir);
    const manifest: Record<string, { filename: string; shape: number[] }> = {};
    paramSpecs(PAPER_ARCHITECTURE).forEach((p, i) => {
      const name = i === 0 ? 'Variable' : `Variable_${i}`;
      manifest[name] = { filename: name, shape: [...p.shape] };
      const values = new Float32Array(sizeOfShape(p.shape)).fill(i % 3 === 2 ? 1 : 0.01);
      fs.writeFileSync(path.join(dir, name), Buffer.from(values.buffer));
    });
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    await readMl5Folder(dir);
    fs.writeFileSync(path.join(root, 'outside.json'), JSON.stringify(manifest));
    await refusesEverySpecial(path.join(dir, 'manifest.json'), path.join(root, 'outside.json'), 'bad-checkpoint', () =>
      readMl5Folder(dir),
    );
    for (const name of ['Variable', 'Variable_47']) {
      fs.copyFileSync(path.join(dir, name), path.join(root, `outside-${name}`));
      await refusesEverySpecial(path.join(dir, name), path.join(root, `outside-${name}`), 'bad-checkpoint', () =>
        readMl5Folder(dir),
      );
    }
  },
);

test(
  'VGG weights refuse a link, FIFO, /dev/zero or folder in place of model.json, a shard or the .mat',
  { skip, timeout: 60_000 },
  async () => {
    const root = tempDir('fst-access-');
    const vgg = path.join(root, 'vgg');
    writeKerasFolder(vgg, syntheticVggWeights([4, 4], 1));
    await loadVggWeights(vgg);
    fs.copyFileSync(path.join(vgg, 'model.json'), path.join(root, 'outside.json'));
    fs.copyFileSync(path.join(vgg, 'group1-shard1of1'), path.join(root, 'outside-shard'));
    for (const [name, outside] of [
      ['model.json', 'outside.json'],
      ['group1-shard1of1', 'outside-shard'],
      ['group2-shard1of1', 'outside-shard'],
    ]) {
      // model.json missing (a dangling link, a folder) sends the loader to "no .mat either": 'bad-weights' as well.
      await refusesEverySpecial(path.join(vgg, name), path.join(root, outside), 'bad-weights', () =>
        loadVggWeights(vgg),
      );
    }
    const matDir = path.join(root, 'matvgg');
    fs.mkdirSync(matDir);
    const w = syntheticVggWeights([4], 2);
    const mat = path.join(matDir, 'imagenet-vgg-verydeep-19.mat');
    fs.writeFileSync(mat, writeVggMat(w.layers));
    await loadVggWeights(matDir);
    fs.copyFileSync(mat, path.join(root, 'outside.mat'));
    for (const kind of SPECIAL_KINDS) {
      const fifo = plantSpecial(mat, kind, path.join(root, 'outside.mat'));
      try {
        for (const target of [matDir, mat]) {
          // Through the folder, only a file inside it; given directly, the user's own link to a
          // regular file is followed, and everything else is one error.
          if (target === mat && kind === 'link-outside') {
            await loadVggWeights(target);
            continue;
          }
          await assert.rejects(
            within(DEADLINE_MS, `${kind} via ${target}`, loadVggWeights(target)),
            (e: unknown) => e instanceof StyleTransferError && ['bad-weights', 'not-found'].includes(e.code),
          );
        }
      } finally {
        if (fifo) unblockFifo(fifo);
      }
    }
  },
);

test(
  'fst export copies no thumbnail that is a link out of the style folder, and does not hang on a FIFO thumbnail',
  { skip, timeout: 60_000 },
  async () => {
    const root = tempDir('fst-access-');
    const dir = await writeTinyStyle(path.join(root, 'style'));
    const secret = path.join(root, 'secret.jpg');
    fs.writeFileSync(secret, 'private bytes');
    for (const kind of SPECIAL_KINDS) {
      const fifo = plantSpecial(path.join(dir, 'thumbnail.jpg'), kind, secret);
      try {
        const out = path.join(root, `out-${kind}`);
        const r = await within(20_000, `export with ${kind}`, runFst(['export', dir, '-o', out]));
        assert.equal(r.code, 0, r.stderr);
        assert.ok(!fs.existsSync(path.join(out, 'thumbnail.jpg')), `${kind}: no thumbnail in the export`);
        assert.equal((await readCheckpoint(out)).info.thumbnail, undefined);
      } finally {
        if (fifo) unblockFifo(fifo);
      }
    }
    fs.rmSync(path.join(dir, 'thumbnail.jpg'), { recursive: true, force: true });
    fs.writeFileSync(path.join(dir, 'thumbnail.jpg'), 'a real thumbnail');
    const r = await runFst(['export', dir, '-o', path.join(root, 'out-real')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(root, 'out-real', 'thumbnail.jpg'), 'utf8'), 'a real thumbnail');
  },
);

test(
  'the Styles view listing and a cached download do not block on a FIFO or /dev/zero either',
  { skip, timeout: 30_000 },
  async () => {
    const root = tempDir('fst-access-');
    const dir = await writeTinyStyle(path.join(root, 'ck'));
    for (const kind of ['fifo', 'dev-zero-link'] as const) {
      const fifo = plantSpecial(path.join(dir, 'style.json'), kind, '');
      try {
        assert.equal(
          await within(
            DEADLINE_MS,
            `listing with a ${kind} style.json`,
            readStyleSummary(dir, { dir: root, kind: 'user' }),
          ),
          undefined,
        );
      } finally {
        if (fifo) unblockFifo(fifo);
      }
      const dest = path.join(root, `vgg-${kind}.mat`);
      const f2 = plantSpecial(dest, kind, '');
      try {
        await assert.rejects(
          within(
            DEADLINE_MS,
            `download over a ${kind}`,
            downloadFile('https://127.0.0.1:9/x.mat', dest, { sha256: '0'.repeat(64) }),
          ),
          (e: unknown) => e instanceof StyleTransferError && e.code === 'io' && /is not a regular file/.test(e.message),
        );
      } finally {
        if (f2) unblockFifo(f2);
      }
    }
  },
);
