// Regressions found by the robustness fuzzer (test/robustness): damaged checkpoint metadata and
// resume state gave TypeErrors ("internal") instead of clear errors, a style.json could name
// its folder (or its parent) as the thumbnail, and loaders followed symbolic links out of the
// folder they were reading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { readCheckpoint, readStyleInfo, writeCheckpoint } from '../../src/io/checkpoint';
import { readTrainingState } from '../../src/io/trainingState';
import { readMl5Folder } from '../../src/io/ml5Import';
import { loadVggWeights } from '../../src/io/vggWeights';
import { readStyleSummary } from '../../src/services/styleStore';
import { resumeTraining, trainStyle } from '../../src/engine/train/trainJob';
import { StyleTransferError } from '../../src/protocol/errors';
import type { EngineSettings, ResumeOptions, TrainOptions } from '../../src/protocol/jobs';
import { tempDir } from '../helpers/paths';
import { syntheticVggWeights, writeKerasFolder } from '../helpers/vggFixtures';
import { TINY_ARCH, seededWeights, tinyStyleInfo } from '../robustness/lib/styles';

const info = tinyStyleInfo('tiny', 4);

function editJson(file: string, edit: (o: Record<string, unknown>) => void): void {
  const o = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(o);
  fs.writeFileSync(file, JSON.stringify(o));
}

const rejectsWith = (code: string, re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof StyleTransferError, `expected a StyleTransferError, got ${(e as Error)?.stack ?? e}`);
  assert.equal(e.code, code, e.message);
  assert.match(e.message, re);
  return true;
};

test('damaged optional fields of style.json are dropped; the checkpoint still loads with the types it promises', async () => {
  const dir = path.join(tempDir('fst-hostile-'), 'ck');
  await writeCheckpoint(dir, info, seededWeights(TINY_ARCH, 1));
  const good = { iteration: 3, content: 1, style: 2, tv: 3, total: 6 };
  editJson(path.join(dir, 'style.json'), (o) => {
    Object.assign(o, {
      lossHistory: [good, { iteration: 'x' }, null, 7],
      epoch: 'two',
      hyperparameters: [1],
      provenance: 'cli',
      thumbnail: 5,
      backend: {},
    });
  });
  for (const read of [readStyleInfo, async (d: string) => (await readCheckpoint(d)).info]) {
    const i = await read(dir);
    assert.deepEqual(i.lossHistory, [good]);
    assert.equal(i.epoch, undefined);
    assert.equal(i.hyperparameters, undefined);
    assert.equal(i.provenance, undefined);
    assert.equal(i.thumbnail, undefined);
    assert.equal(i.backend, undefined);
  }
  editJson(path.join(dir, 'style.json'), (o) => {
    o.lossHistory = 'not a list';
    o.source = [1];
  });
  const i = await readStyleInfo(dir);
  assert.equal(i.lossHistory, undefined);
  assert.deepEqual(i.source, { kind: 'trained' });
});

test('damaged resume state is one bad-checkpoint error, also through the training job', async () => {
  const root = tempDir('fst-hostile-');
  const dir = path.join(root, 'ck');
  const vgg = path.join(root, 'vgg');
  writeKerasFolder(vgg, syntheticVggWeights([4, 4, 4, 4, 4], 2));
  const style = path.join(root, 'style.png');
  await sharp({ create: { width: 24, height: 20, channels: 3, background: '#a04010' } })
    .png()
    .toFile(style);
  const data = path.join(root, 'data');
  fs.mkdirSync(data);
  await sharp({ create: { width: 20, height: 20, channels: 3, background: '#1040a0' } })
    .png()
    .toFile(path.join(data, 'a.png'));
  const settings: EngineSettings = {
    trainingBackend: 'cpu',
    stylizeRuntime: 'onnx',
    threads: 1,
    cacheDir: path.join(root, 'cache'),
    extraModuleRoots: [],
    maxInputPixels: 1e8,
  };
  const opts: TrainOptions = {
    styleImage: style,
    dataDir: data,
    output: dir,
    name: 'ck',
    preset: 'quick',
    vggPath: vgg,
    overrides: {
      iterations: 2,
      imageSize: 16,
      batchSize: 1,
      checkpointEvery: 0,
      previewEvery: 0,
      styleSize: 24,
      architecture: TINY_ARCH,
    },
  };
  await trainStyle(opts, settings);
  const state = path.join(dir, 'training-state.json');
  const original = fs.readFileSync(state, 'utf8');
  const resume: ResumeOptions = { checkpoint: dir, vggPath: vgg };
  const cases: [string, (o: Record<string, unknown>) => void, RegExp][] = [
    [
      'iteration 1e308',
      (o) => {
        o.iteration = 1e308;
      },
      /no valid iteration/,
    ],
    [
      'hyperparameters a string',
      (o) => {
        o.hyperparameters = 'fast';
      },
      /no hyperparameters object/,
    ],
    [
      'a data file that is not a name',
      (o) => {
        o.dataFiles = [42];
      },
      /lacks the training data description/,
    ],
    [
      'vggPath a number',
      (o) => {
        o.vggPath = 3;
      },
      /lacks the training data description/,
    ],
    [
      'a saved setting out of range',
      (o) => {
        (o.hyperparameters as Record<string, unknown>).batchSize = 0;
      },
      /saved training settings are damaged.*batchSize/,
    ],
    [
      'a saved architecture that is not one',
      (o) => {
        (o.hyperparameters as Record<string, unknown>).architecture = 'big';
      },
      /saved training settings are damaged.*architecture/,
    ],
  ];
  for (const [what, edit, re] of cases) {
    fs.writeFileSync(state, original);
    editJson(state, edit);
    await assert.rejects(resumeTraining(resume, settings), rejectsWith('bad-checkpoint', re), what);
  }
  fs.writeFileSync(state, 'null');
  await assert.rejects(readTrainingState(dir, TINY_ARCH), rejectsWith('bad-checkpoint', /must be a JSON object/));
  // No length at all (iterations and epochs 0): a clear bad-input, not an exception.
  fs.writeFileSync(state, original);
  editJson(state, (o) => {
    Object.assign(o.hyperparameters as object, { iterations: 0, epochs: 0 });
  });
  await assert.rejects(resumeTraining(resume, settings), rejectsWith('bad-input', /set iterations or epochs above 0/));
});

test('the Styles view takes a thumbnail only from a file in the style folder', async () => {
  const root = tempDir('fst-hostile-');
  const dir = path.join(root, 'ck');
  await writeCheckpoint(dir, info, seededWeights(TINY_ARCH, 1));
  for (const name of ['', '.', '..', '../..', 'weights.bin/..']) {
    editJson(path.join(dir, 'style.json'), (o) => {
      o.thumbnail = name;
    });
    assert.equal(
      (await readStyleSummary(dir, { dir: root, kind: 'user' }))?.thumbnail,
      undefined,
      JSON.stringify(name),
    );
  }
  fs.writeFileSync(path.join(dir, 'thumb.jpg'), 'x');
  editJson(path.join(dir, 'style.json'), (o) => {
    o.thumbnail = '../../elsewhere/thumb.jpg';
  });
  assert.equal(
    (await readStyleSummary(dir, { dir: root, kind: 'user' }))?.thumbnail,
    path.join(dir, 'thumb.jpg'),
    'the name only, inside the folder',
  );
});

test('checkpoint, ml5 and VGG loaders refuse files that are links to outside their folder', async () => {
  const root = tempDir('fst-hostile-');
  const secret = path.join(root, 'secret.bin');
  const dir = path.join(root, 'ck');
  await writeCheckpoint(dir, info, seededWeights(TINY_ARCH, 1));
  fs.copyFileSync(path.join(dir, 'weights.bin'), secret);
  fs.rmSync(path.join(dir, 'weights.bin'));
  fs.symlinkSync(secret, path.join(dir, 'weights.bin'));
  await assert.rejects(
    readCheckpoint(dir),
    rejectsWith('bad-checkpoint', /weights\.bin is a symbolic link to a file outside the checkpoint folder/),
  );
  // A link inside the folder is fine.
  fs.copyFileSync(secret, path.join(dir, 'weights-copy.bin'));
  fs.rmSync(path.join(dir, 'weights.bin'));
  fs.symlinkSync('weights-copy.bin', path.join(dir, 'weights.bin'));
  assert.equal((await readCheckpoint(dir)).info.iteration, 4);

  const ml5 = path.join(root, 'ml5');
  fs.mkdirSync(ml5);
  fs.writeFileSync(
    path.join(ml5, 'manifest.json'),
    JSON.stringify({ Variable: { filename: 'Variable', shape: [9, 9, 3, 32] } }),
  );
  fs.symlinkSync(secret, path.join(ml5, 'Variable'));
  fs.writeFileSync(path.join(root, 'manifest-outside.json'), '{}');
  await assert.rejects(readMl5Folder(ml5), rejectsWith('bad-checkpoint', /manifest lists 1 variables/));
  const full = Object.fromEntries(
    Array.from({ length: 48 }, (_, i) => [
      i ? `Variable_${i}` : 'Variable',
      { filename: 'Variable', shape: [9, 9, 3, 32] },
    ]),
  );
  fs.writeFileSync(path.join(ml5, 'manifest.json'), JSON.stringify(full));
  await assert.rejects(
    readMl5Folder(ml5),
    rejectsWith(
      'bad-checkpoint',
      /Variable points outside the folder \(Variable\), directly or through a symbolic link/,
    ),
  );

  const vgg = path.join(root, 'vgg');
  writeKerasFolder(vgg, syntheticVggWeights([4], 1));
  fs.copyFileSync(path.join(vgg, 'group1-shard1of1'), path.join(root, 'shard'));
  fs.rmSync(path.join(vgg, 'group1-shard1of1'));
  fs.symlinkSync(path.join(root, 'shard'), path.join(vgg, 'group1-shard1of1'));
  await assert.rejects(
    loadVggWeights(vgg),
    rejectsWith('bad-weights', /points outside the folder \(directly or through a symbolic link\)/),
  );
});
