// Issue 15.3 / 15.4 through the built CLI (separate processes: signals, exit codes, crashes):
// an unwritable --preview-dir costs one line, never the run or its checkpoint; previews never
// replace an existing file, not even through a link; SIGTERM stops training like Ctrl+C does,
// with a checkpoint saved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { REPO_ROOT, hasSharedData, shared, tempDir } from '../helpers/paths';

const FST = path.join(REPO_ROOT, 'bin', 'fst.js');
const root = tempDir('fst-train-cli-');
// The training-job tests' tiny network and sizes: a few seconds per run.
const TINY = [
  '--image-size',
  '32',
  '--batch-size',
  '1',
  '--filters',
  '4,8,8',
  '--residual-blocks',
  '1',
  '--style-size',
  '64',
];

async function dataDir(): Promise<string> {
  const dir = path.join(root, 'data');
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir);
    for (const [i, c] of [
      [1, '#aa3322'],
      [2, '#2255cc'],
    ] as const)
      await sharp({ create: { width: 48, height: 40, channels: 3, background: c } })
        .png()
        .toFile(path.join(dir, `d${i}.png`));
  }
  return dir;
}

async function trainArgs(name: string, ...extra: string[]): Promise<string[]> {
  return [
    'train',
    '--style',
    shared('redistributable', 'starry_night.jpg'),
    '--data',
    await dataDir(),
    '--vgg',
    shared('vgg19-keras-block1-3'),
    '-o',
    path.join(root, name),
    ...TINY,
    ...extra,
  ];
}

function fst(args: string[]) {
  assert.ok(fs.existsSync(path.join(REPO_ROOT, 'dist', 'cli.js')), 'dist/cli.js missing: run `node esbuild.mjs` first');
  return spawnSync(process.execPath, [FST, ...args], { encoding: 'utf8', timeout: 180_000 });
}

const iterationOf = (checkpoint: string) =>
  (JSON.parse(fs.readFileSync(path.join(checkpoint, 'style.json'), 'utf8')) as { iteration: number }).iteration;

test('train and optimize with a --preview-dir that cannot be created: one line, exit 0, checkpoint and result saved', async (t) => {
  if (!hasSharedData(t)) return;
  const blocker = path.join(root, 'blocker');
  fs.writeFileSync(blocker, 'a file where the preview folder would go');
  const r = fst(
    await trainArgs(
      'blocked',
      '--iterations',
      '3',
      '--preview-every',
      '1',
      '--checkpoint-every',
      '2',
      '--preview-dir',
      path.join(blocker, 'previews'),
    ),
  );
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  // ("training on … ; previews on …" is the backend line, not a problem)
  const problems = r.stderr.split('\n').filter((l) => /preview|Error|^\s+at /.test(l) && !l.startsWith('training on '));
  assert.deepEqual(problems, [
    `fst train: cannot create the folder ${path.join(blocker, 'previews')}: a file is in the way of the folder; no more previews are written (the run goes on)`,
  ]);
  assert.match(r.stdout, /^done: 3 iterations .*checkpoint /m);
  assert.equal(iterationOf(path.join(root, 'blocked')), 3);

  const out = path.join(root, 'optimized');
  const o = fst([
    'optimize',
    '--style',
    shared('redistributable', 'starry_night.jpg'),
    '--vgg',
    shared('vgg19-keras-block1-3'),
    '-o',
    out,
    '--size',
    '32',
    '--steps',
    '2',
    '--method',
    'adam',
    '--preview-every',
    '1',
    '--preview-dir',
    path.join(blocker, 'p'),
    path.join(await dataDir(), 'd1.png'),
  ]);
  assert.equal(o.status, 0, o.stderr.slice(-3000));
  assert.deepEqual(
    o.stderr.split('\n').filter((l) => /preview|Error|^\s+at /.test(l)),
    [
      `fst optimize: cannot create the folder ${path.join(blocker, 'p')}: a file is in the way of the folder; no more previews are written (the run goes on)`,
    ],
  );
  assert.equal(fs.readdirSync(out).length, 1);
});

test('previews never replace a file or write through a link: taken names get a -2 suffix', async (t) => {
  if (!hasSharedData(t)) return;
  const dir = path.join(root, 'previews');
  fs.mkdirSync(dir);
  const victim = path.join(root, 'victim.txt');
  fs.writeFileSync(victim, 'not a preview');
  fs.writeFileSync(path.join(dir, 'preview-000001.png'), 'mine');
  fs.symlinkSync(victim, path.join(dir, 'preview-000002.png'));
  fs.symlinkSync(path.join(root, 'nowhere.png'), path.join(dir, 'preview-000003.png')); // dangling
  // Left by a run killed mid-write: removed (a link only as a link).
  fs.writeFileSync(path.join(dir, '.preview-000009.0123456789ab.tmp'), 'partial');
  fs.symlinkSync(victim, path.join(dir, '.preview-000010.0123456789ab.tmp'));
  const old = new Date(Date.now() - 3_600_000);
  fs.utimesSync(path.join(dir, '.preview-000009.0123456789ab.tmp'), old, old);
  fs.lutimesSync(path.join(dir, '.preview-000010.0123456789ab.tmp'), old, old);
  const r = fst(await trainArgs('previewed', '--iterations', '3', '--preview-every', '1', '--preview-dir', dir));
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  assert.equal(fs.readFileSync(path.join(dir, 'preview-000001.png'), 'utf8'), 'mine');
  assert.equal(fs.readFileSync(victim, 'utf8'), 'not a preview');
  assert.equal(fs.readlinkSync(path.join(dir, 'preview-000003.png')), path.join(root, 'nowhere.png'));
  assert.equal(fs.existsSync(path.join(root, 'nowhere.png')), false, 'nothing written through the dangling link');
  assert.deepEqual(fs.readdirSync(dir).sort(), [
    'preview-000001-2.png',
    'preview-000001.png',
    'preview-000002-2.png',
    'preview-000002.png',
    'preview-000003-2.png',
    'preview-000003.png',
  ]);
  for (const f of ['preview-000001-2.png', 'preview-000002-2.png', 'preview-000003-2.png']) {
    assert.equal((await sharp(path.join(dir, f)).metadata()).format, 'png', f);
  }
});

test('SIGTERM stops training like Ctrl+C: a checkpoint is saved and the exit code is 143', async (t) => {
  if (!hasSharedData(t)) return;
  const args = await trainArgs('terminated', '--iterations', '5000', '--checkpoint-every', '10000', '--log-every', '1');
  const child = spawn(process.execPath, [FST, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
  });
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
    // Stop once training runs (a few steps in), as a service manager or `kill` would.
    if (!sent && /^iter 3\//m.test(stdout)) {
      sent = true;
      child.kill('SIGTERM');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.ok(sent, `training never reached step 3: ${stderr.slice(-2000)}`);
  assert.equal(code, 143, stderr.slice(-2000));
  assert.match(stderr, /fst train: SIGTERM: stopping after this step and saving a checkpoint/);
  const stopped = /^stopped: (\d+) iterations .*checkpoint (.+?);/m.exec(stdout);
  assert.ok(stopped, stdout);
  const saved = iterationOf(path.join(root, 'terminated'));
  assert.equal(saved, Number(stopped[1]));
  assert.ok(saved >= 3 && saved < 5000, `saved at ${saved}`);
});
